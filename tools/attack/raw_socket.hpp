#pragma once
// A loopback TCP connection that writes exactly the bytes given and reads whatever comes back,
// every wait bounded (Boost.Asio). The sockets of one attack share an io_context, run by the
// caller's thread whenever one of them waits, so every socket's reads progress meanwhile.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace mh::attack {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

class RawSocket {
 public:
  // Connects (within 2 s); `receive_buffer` > 0 shrinks the receive buffer. Throws on failure.
  RawSocket(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& target, bool read,
            int receive_buffer = 0);
  ~RawSocket();
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  // Writes all of `bytes`; false when closed, failed or not taken within `timeout`.
  bool send(std::string_view bytes, milliseconds timeout);
  // Runs pending reads until the peer closed (true) or `timeout` passed.
  bool wait_closed(milliseconds timeout);
  // Runs pending reads for at most `timeout` without waiting for anything else.
  void poll(milliseconds timeout);
  const std::string& received() const { return received_; }
  bool closed() const { return closed_; }

 private:
  void read_more();
  template <typename Done>
  bool run_until(Done done, milliseconds timeout);

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::socket socket_;
  std::vector<char> scratch_;
  std::string received_;
  bool reading_ = false;
  bool closed_ = false;
};

}  // namespace mh::attack
