#include "raw_socket.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <stdexcept>
#include <thread>

namespace mh::attack {

namespace asio = boost::asio;
using boost::system::error_code;

RawSocket::RawSocket(asio::io_context& io, const asio::ip::tcp::endpoint& target, bool read,
                     int receive_buffer)
    : io_(io), socket_(io_), scratch_(16 * 1024) {
  socket_.open(target.protocol());
  if (receive_buffer > 0) {
    socket_.set_option(asio::socket_base::receive_buffer_size(receive_buffer));
  }
  bool done = false;
  error_code failure;
  socket_.async_connect(target, [&](error_code error) {
    done = true;
    failure = error;
  });
  if (!run_until([&] { return done; }, milliseconds(2000)) || failure) {
    throw std::runtime_error("connect: " + (failure ? failure.message() : "timeout"));
  }
  if (read) {
    reading_ = true;
    read_more();
  }
}

RawSocket::~RawSocket() {
  error_code ignored;
  socket_.close(ignored);
  // The aborted read's handler refers to this object: let it run now.
  run_until([this] { return !reading_; }, milliseconds(1000));
}

void RawSocket::read_more() {
  socket_.async_read_some(asio::buffer(scratch_), [this](error_code error, std::size_t bytes) {
    // Keep at most 64 KiB of what came: enough to see the status lines.
    if (received_.size() < 64 * 1024) received_.append(scratch_.data(), bytes);
    if (error) {
      closed_ = true;
      reading_ = false;
      return;
    }
    read_more();
  });
}

template <typename Done>
bool RawSocket::run_until(Done done, milliseconds timeout) {
  const auto give_up = Clock::now() + timeout;
  io_.restart();
  while (!done()) {
    const auto now = Clock::now();
    if (now >= give_up) return false;
    const auto step = std::min<Clock::duration>(give_up - now, milliseconds(50));
    if (io_.run_one_for(step) == 0) {
      io_.restart();
      std::this_thread::sleep_for(milliseconds(5));
    }
  }
  return true;
}

bool RawSocket::send(std::string_view bytes, milliseconds timeout) {
  if (closed_) return false;
  bool written = false;
  bool failed = false;
  asio::async_write(socket_, asio::buffer(bytes.data(), bytes.size()),
                    [&](error_code error, std::size_t) {
                      written = true;
                      failed = static_cast<bool>(error);
                    });
  if (run_until([&] { return written; }, timeout)) return !failed;
  error_code ignored;
  socket_.cancel(ignored);  // the handler must run before `bytes` goes away
  run_until([&] { return written; }, milliseconds(5000));
  closed_ = true;
  return false;
}

bool RawSocket::wait_closed(milliseconds timeout) {
  if (!reading_) {
    reading_ = true;
    read_more();
  }
  return run_until([&] { return closed_; }, timeout);
}

void RawSocket::poll(milliseconds timeout) {
  run_until([] { return false; }, timeout);
}

}  // namespace mh::attack
