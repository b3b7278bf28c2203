// uSockets' C API as the loaded uWebSockets.js binary exports it, looked up by name at attach
// (uws_socket.cc). Its structs stay opaque: only these functions touch them.
#pragma once

namespace tokio {

struct us_socket_t;
struct us_socket_context_t;
struct us_loop_t;

using UsOnData = us_socket_t* (*)(us_socket_t*, char* data, int length);
using UsOnClose = us_socket_t* (*)(us_socket_t*, int code, void* reason);

struct USockets {
  int (*poll_fd)(us_socket_t*);  // a socket begins with its poll
  us_socket_context_t* (*socket_context)(int ssl, us_socket_t*);
  us_loop_t* (*context_loop)(int ssl, us_socket_context_t*);
  char* (*loop_ext)(us_loop_t*);
  void (*timeout)(int ssl, us_socket_t*, unsigned int seconds);
  void (*long_timeout)(int ssl, us_socket_t*, unsigned int minutes);
  us_socket_t* (*close)(int ssl, us_socket_t*, int code, void* reason);
  int (*is_closed)(int ssl, us_socket_t*);
  int (*write)(int ssl, us_socket_t*, const char* data, int length, int msg_more);
  void (*on_data)(int ssl, us_socket_context_t*, UsOnData);
  void (*on_close)(int ssl, us_socket_context_t*, UsOnClose);
};
extern USockets us;

// The socket closes after `seconds` without data; 0: never (uSockets counts in 4 s ticks, up to
// 240 of them, and beyond in minutes).
void ArmTimeout(int ssl, us_socket_t* socket, unsigned int seconds);

// uWS's LoopData `noMark` flag in a loop's ext, or null when the layout is not the known one.
bool* FindNoMark(char* loop_data);

}  // namespace tokio
