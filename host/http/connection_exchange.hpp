#pragma once
// The Exchange a route answers through: each call hops onto its connection's strand (or runs at
// once when already there) and names its request, so that calls from any thread, and calls
// for a request that is over, are safe. Private to the server.
#include "http_connection.hpp"
#include "http_wire_format.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace mh::host {

template <typename Socket>
class ConnectionExchange final : public Exchange {
 public:
  ConnectionExchange(std::shared_ptr<Connection<Socket>> connection, std::uint64_t seq)
      : connection_(std::move(connection)), seq_(seq), budget_(connection_->stream_budget()) {}

  void reply(HttpReply reply) override {
    run([reply = std::move(reply)](Connection<Socket>& connection, std::uint64_t seq) mutable {
      connection.reply(seq, std::move(reply));
    });
  }
  void start_stream(unsigned status, std::string content_type, HttpHeaders headers) override {
    run([=](Connection<Socket>& connection, std::uint64_t seq) mutable {
      connection.start_stream(seq, status, std::move(content_type), std::move(headers));
    });
  }
  void write(std::string data) override {
    run([data = std::move(data)](Connection<Socket>& connection, std::uint64_t seq) mutable {
      connection.write(seq, std::move(data));
    });
  }
  // Counted with the chunk framing the connection adds, so that the bound holds on the wire.
  bool reserve_stream_bytes(std::size_t bytes) override {
    return budget_->reserve(bytes + kChunkFramingBytes);
  }
  void write_reserved(std::string data) override {
    run([data = std::move(data)](Connection<Socket>& connection, std::uint64_t seq) mutable {
      const std::size_t reserved = data.size() + kChunkFramingBytes;
      connection.write(seq, std::move(data), reserved);
    });
  }
  void end_stream() override {
    run([](Connection<Socket>& connection, std::uint64_t seq) { connection.end_stream(seq); });
  }
  void post(std::function<void()> task) override {
    boost::asio::post(connection_->executor(), std::move(task));
  }
  boost::asio::any_io_executor executor() override { return connection_->executor(); }
  void on_client_gone(std::function<void()> callback) override {
    run([callback = std::move(callback)](Connection<Socket>& connection,
                                         std::uint64_t seq) mutable {
      connection.on_client_gone(seq, std::move(callback));
    });
  }
  void on_complete(std::function<void(unsigned)> callback) override {
    run([callback = std::move(callback)](Connection<Socket>& connection,
                                         std::uint64_t seq) mutable {
      connection.on_complete(seq, std::move(callback));
    });
  }

 private:
  template <typename F>
  void run(F&& f) {
    auto executor = connection_->executor();
    using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;
    const auto* strand = executor.template target<Strand>();
    if (strand != nullptr && strand->running_in_this_thread()) {
      f(*connection_, seq_);
      return;
    }
    boost::asio::post(executor, [connection = connection_, seq = seq_,
                                 f = std::forward<F>(f)]() mutable { f(*connection, seq); });
  }

  std::shared_ptr<Connection<Socket>> connection_;
  const std::uint64_t seq_;
  const std::shared_ptr<StreamBudget> budget_;  // the request's (read without the strand)
};

}  // namespace mh::host
