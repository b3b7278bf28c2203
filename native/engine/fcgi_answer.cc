#include "fcgi_answer.h"

#include <errno.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <string>
#include <string_view>
#include <vector>

#include "../fastcgi/protocol.h"
#include "job.h"

namespace tokio {

namespace {

// Larger bodies go through JS, as streamed ones do: a bounded number of records here.
constexpr size_t kMostBody = 1024 * 1024;

// the connection's own headers, nginx's to set: as src/fastcgi/fastcgi-exchange.ts's isConnectionHeader
bool ConnectionHeader(std::string_view name) {
  for (std::string_view hop : {"transfer-encoding", "connection", "keep-alive"}) {
    if (hop.size() == name.size() && strncasecmp(hop.data(), name.data(), name.size()) == 0) return true;
  }
  return false;
}

// Writes all of iov, waiting while the socket is full (nginx reads an answer it asked for);
// false once the front is gone or has read nothing for a minute.
bool WriteAll(int fd, iovec* iov, int n) {
  while (n > 0) {
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(n);
    ssize_t wrote = sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (wrote < 0) {
      if (errno == EINTR) continue;
      pollfd ready{fd, POLLOUT, 0};
      if (errno != EAGAIN || poll(&ready, 1, 60'000) <= 0) return false;
      continue;
    }
    size_t done = static_cast<size_t>(wrote);
    for (; n > 0 && done >= iov->iov_len; iov++, n--) done -= iov->iov_len;
    if (n > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + done;
      iov->iov_len -= done;
    }
  }
  return true;
}

}  // namespace

bool AnswerFastCgi(Job* job) {
  // what JS answers itself: a stream, an early answer, a failed capture, a stopped script, a
  // status the SAPI gave no reason phrase (JS has its own table)
  if (job->streamed_headers || job->finished || job->output.failed() || job->result.aborted != TOKIO_ABORT_NONE ||
      job->client_gone.load() || job->status < 200 || job->reason.empty() || job->output.size() > kMostBody)
    return false;
  int unclaimed = Job::kUnclaimed;
  if (!job->fcgi_owner.compare_exchange_strong(unclaimed, Job::kPhpThread)) return false;

  // the CGI head, as src/fastcgi/fastcgi-exchange.ts's #head makes it
  std::string head = "Status: " + std::to_string(job->status) + " " + job->reason + "\r\n";
  std::vector<std::string_view> names;
  uint32_t start = 0;
  for (uint32_t end : job->header_ends) {
    std::string_view line(job->header_blob.data() + start, end - start);
    start = end + 1;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    size_t value = colon + 1;
    while (value < line.size() && (line[value] == ' ' || line[value] == '\t')) value++;
    names.push_back(name);
    if (ConnectionHeader(name)) continue;
    head.append(name).append(": ").append(line.substr(value)).append("\r\n");
  }
  // JS's headers (the trace's), unless the script set the same name: as addTraceHeaders()
  for (size_t i = 0; i + 1 < job->fcgi_extra.size(); i += 2) {
    const std::string& name = job->fcgi_extra[i];
    bool own = false;
    for (std::string_view n : names)
      own |= n.size() == name.size() && strncasecmp(n.data(), name.data(), n.size()) == 0;
    if (!own) head.append(name).append(": ").append(job->fcgi_extra[i + 1]).append("\r\n");
  }
  OutputBlock body = job->output.take();
  std::string_view method(job->request.method.ptr, job->request.method.len);
  bool bodiless = method == "HEAD" || job->status == 204 || job->status == 304;
  size_t length = bodiless ? 0 : body.size;
  head.append("\r\n");  // no Content-Length unless the script set one: nginx frames, as behind php-fpm

  // STDOUT records: head and body in one when they fit, else the head's, then the body's; then
  // the stream's end and END_REQUEST
  constexpr size_t kMostRecords = kMostBody / fcgi::kMaxContent + 2;
  uint8_t headers[kMostRecords + 1][fcgi::kHeader];
  uint8_t end[fcgi::kHeader + fcgi::kEndRequestLength];
  iovec iov[2 * kMostRecords + 1];
  int n = 0, records = 0;
  auto record = [&](size_t content_length) {
    fcgi::RecordHeader(headers[records], fcgi::kStdout, job->fcgi_request, static_cast<uint16_t>(content_length));
    iov[n++] = {headers[records++], fcgi::kHeader};
  };
  bool together = head.size() + length <= fcgi::kMaxContent;
  record(together ? head.size() + length : head.size());
  iov[n++] = {head.data(), head.size()};
  for (size_t at = 0; at < length;) {
    size_t part = together ? length : std::min(length - at, fcgi::kMaxContent);
    if (!together) record(part);
    iov[n++] = {body.data + at, part};
    at += part;
  }
  fcgi::RecordHeader(end, fcgi::kStdout, job->fcgi_request, 0);
  fcgi::EndRequestRecord(end + fcgi::kHeader, job->fcgi_request, 0);
  iov[n++] = {end, sizeof(end)};
  WriteAll(job->fcgi_fd, iov, n);  // a front that left is the loop's to notice
  body.release();
  job->answered_bytes = static_cast<int64_t>(length);
  return true;
}

}  // namespace tokio
