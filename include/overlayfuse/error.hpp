#pragma once
#include <stdexcept>
#include <string>

namespace ovf {

// An error meant for the user: its what() is one line that names the image or path at fault.
// The CLI prints it after "overlayfuse: " and exits non-zero.
class UserError : public std::runtime_error {
public:
    explicit UserError(const std::string& msg, int exit_code = 1)
        : std::runtime_error(msg), exit_code_(exit_code) {}
    int exit_code() const noexcept { return exit_code_; }

private:
    int exit_code_;
};

// errno as text, for messages: "No such file or directory".
std::string errno_text(int err);

}  // namespace ovf
