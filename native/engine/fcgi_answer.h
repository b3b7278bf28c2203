// A FastCGI request's whole response, written by the PHP thread that made it: the hop back to the
// event loop, and the loop's write, are left out of the request's path. JS lends the connection
// (Job::fcgi_fd) when nothing on its side would change the response; the PHP thread and JS each
// claim the job (Job::fcgi_owner), and the first answers.
#pragma once

namespace tokio {

struct Job;

// On the PHP thread, once the script ended: true when it wrote the response (its body's bytes in
// job->answered_bytes); false leaves the answer to JS, which then has it as before.
bool AnswerFastCgi(Job* job);

}  // namespace tokio
