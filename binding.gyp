{
  "variables": {
    # native/install.sh finds or builds PHP and records its php-config here (or PHP_CONFIG names one)
    "php_config": "<!(sh -c 'echo ${PHP_CONFIG:-$(cat native/.php-config 2>/dev/null)}')",
  },
  "targets": [
    {
      "target_name": "tokio_php",
      "sources": [
        "native/addon.cc",
        "native/engine/engine.cc",
        "native/engine/worker_pool.cc",
        "native/engine/output_buffer.cc",
        "native/sapi/tokio_sapi.c",
        "native/sapi/tokio_backtrace.c",
        "native/engine/slowlog.cc",
        "native/engine/fcgi_answer.cc",
        "ext/tokio_ext.c",
        "ext/tokio_env.c",
        "ext/tokio_locale.c",
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "cflags": ["<!@(<(php_config) --includes)", "-fvisibility=hidden", "-Wall", "-Wno-unused-parameter"],
      "cflags_c": ["-std=gnu11"],
      "cflags_cc": ["-std=c++17"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "libraries": [
        "-L<!(<(php_config) --prefix)/lib",
        "-lphp",
        "-Wl,-rpath,<!(<(php_config) --prefix)/lib",
      ],
    },
    {
      "target_name": "tokio_net",
      "sources": [
        "native/net_addon.cc",
        "native/fastcgi/fcgi_connections.cc",
        "native/gate/gate.cc",
        "native/gate/siblings.cc",
        "native/gate/uws_socket.cc",
        "native/gate/uws_heads.cc",
        "native/ratelimit/rate_table.cc",
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "cflags": ["-fvisibility=hidden", "-Wall", "-Wno-unused-parameter"],
      "cflags_cc": ["-std=c++17"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
    },
  ],
}
