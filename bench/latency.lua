-- wrk's summary, with the percentiles its text report lacks: one line the bench parses
done = function(summary, latency, requests)
  io.write(string.format("TOKIO-BENCH %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
