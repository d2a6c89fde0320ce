// The writing half of a connection: one write at a time, each write_some bounded by
// --write-timeout-ms, a stream's bytes counted against its budget until the socket took them.
// (The reading half and the exchange's operations are in http_connection.cpp.)
#include "http_connection.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <utility>

namespace mh::host {

namespace asio = boost::asio;
using boost::system::error_code;

// --- writing: one write at a time; each write_some must progress within --write-timeout-ms ---

template <typename Socket>
void Connection<Socket>::queue(std::string data, std::size_t reserved) {
  outbox_.push_back(std::move(data));
  outbox_reserved_ += reserved;
  do_write();
}

template <typename Socket>
void Connection<Socket>::do_write() {
  if (writing_ || outbox_.empty() || closed_) return;
  writing_ = true;
  current_.clear();
  current_sent_ = 0;
  for (auto& piece : outbox_) current_ += piece;
  outbox_.clear();
  current_reserved_ = std::exchange(outbox_reserved_, 0);
  write_some();
}

template <typename Socket>
void Connection<Socket>::write_some() {
  const std::uint64_t seq = ++write_timer_seq_;
  write_timer_.expires_after(shared_->settings.write_timeout);
  write_timer_.async_wait([self = this->shared_from_this(), seq](error_code error) {
    if (!error && seq == self->write_timer_seq_ && self->writing_) self->on_write_timeout();
  });
  socket_.async_write_some(
      asio::buffer(current_.data() + current_sent_, current_.size() - current_sent_),
      [self = this->shared_from_this()](error_code error, std::size_t bytes) {
        self->on_write(error, bytes);
      });
}

template <typename Socket>
void Connection<Socket>::on_write(error_code error, std::size_t bytes) {
  ++write_timer_seq_;
  write_timer_.cancel();
  if (closed_) {
    writing_ = false;
    return;
  }
  if (error) {
    writing_ = false;
    close();
    return;
  }
  current_sent_ += bytes;
  if (current_sent_ < current_.size()) {
    write_some();
    return;
  }
  writing_ = false;
  budget_->release(std::exchange(current_reserved_, 0));
  if (!outbox_.empty()) {
    do_write();
    return;
  }
  // A stream's backlog may have grown the buffer: give the memory back.
  if (current_.capacity() > kRetainedWriteBytes) std::string().swap(current_);
  if (reply_done_ && !exchange_finished_) finish_exchange();
}

// The client took no byte for --write-timeout-ms: it is cut, and its request cancelled.
template <typename Socket>
void Connection<Socket>::on_write_timeout() {
  spdlog::warn(
      "a client took no reply bytes for {} ms (--write-timeout-ms); closed its connection "
      "({} bytes unsent){}",
      shared_->settings.write_timeout.count(), current_.size() - current_sent_,
      exchange_finished_ ? "" : " and cancelled its request");
  close();
}

// The members above, for the two socket types the server listens with (the rest of the class
// is instantiated in http_connection.cpp).
#define MH_INSTANTIATE_WRITING(Socket)                                 \
  template void Connection<Socket>::queue(std::string, std::size_t);   \
  template void Connection<Socket>::do_write();                        \
  template void Connection<Socket>::write_some();                      \
  template void Connection<Socket>::on_write(error_code, std::size_t); \
  template void Connection<Socket>::on_write_timeout();
MH_INSTANTIATE_WRITING(asio::ip::tcp::socket)
MH_INSTANTIATE_WRITING(asio::local::stream_protocol::socket)
#undef MH_INSTANTIATE_WRITING

}  // namespace mh::host
