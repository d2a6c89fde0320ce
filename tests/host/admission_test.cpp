#include "model/admission.hpp"

#include <doctest/doctest.h>

using namespace mh::host;

TEST_CASE("admission: runs up to max_concurrency, queues up to max_queue, refuses the rest") {
  Admission admission(2, 1);
  int started = 0;
  auto start = [&] { ++started; };
  CHECK(admission.admit(start) == Admission::Outcome::started);
  CHECK(admission.admit(start) == Admission::Outcome::started);
  Admission::Ticket ticket = 0;
  CHECK(admission.admit(start, &ticket) == Admission::Outcome::queued);
  CHECK(ticket != 0);
  CHECK(admission.admit(start) == Admission::Outcome::rejected);
  CHECK(started == 2);
  CHECK(admission.running() == 2);
  CHECK(admission.queued() == 1);

  admission.release();  // the queued one takes the slot
  CHECK(started == 3);
  CHECK(admission.running() == 2);
  CHECK(admission.queued() == 0);
  CHECK_FALSE(admission.withdraw(ticket));  // it started already
}

TEST_CASE("admission: withdraw, drain and close") {
  Admission admission(1, 4);
  int started = 0;
  auto start = [&] { ++started; };
  admission.admit(start);
  Admission::Ticket a = 0, b = 0;
  admission.admit(start, &a);
  admission.admit(start, &b);
  CHECK(admission.withdraw(a));
  CHECK_FALSE(admission.withdraw(a));

  bool idle = false;
  admission.close();
  admission.when_idle([&] { idle = true; });
  CHECK(admission.admit(start) == Admission::Outcome::closed);
  CHECK_FALSE(idle);
  admission.release();  // b runs
  CHECK(started == 2);
  CHECK_FALSE(idle);
  admission.release();
  CHECK(idle);
  CHECK(admission.running() == 0);

  bool at_once = false;
  admission.when_idle([&] { at_once = true; });
  CHECK(at_once);
}
