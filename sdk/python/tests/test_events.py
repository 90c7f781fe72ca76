import unittest

from swarmml_worker import EventSender, EventsUndelivered, Gateway, GatewayError

from .fake_gateway import FakeGateway


class Clock:
    def __init__(self) -> None:
        self.t = 0.0
        self.slept: list = []

    def now(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.t += s


class EventSenderTest(unittest.TestCase):
    def setUp(self) -> None:
        self.gw = FakeGateway()
        self.clock = Clock()
        self.sender = EventSender(
            Gateway(self.gw.url, "tok", timeout_s=5), "s1", deadline=60, clock=self.clock.now, sleep=self.clock.sleep
        )

    def tearDown(self) -> None:
        self.gw.close()

    def test_numbers_events_from_one_in_order(self) -> None:
        for i in range(3):
            self.assertEqual(self.sender.send("log", {"lines": [str(i)]}), i + 1)
        self.assertEqual(sorted(self.gw.archive), [1, 2, 3])
        self.assertEqual(self.gw.posts, [1, 2, 3])

    def test_a_lost_answer_is_resent_and_archived_once(self) -> None:
        self.sender.send("session.started", {})
        self.gw.drop = 2  # seq 2 is archived twice over without an answer reaching the worker
        self.sender.send("epoch", {"epoch": 1, "epochs": 1, "loss": 0.5})
        self.sender.send("log", {"lines": ["after"]})
        self.assertEqual(self.gw.posts, [1, 2, 2, 2, 3])
        self.assertEqual(self.gw.kinds(), ["session.started", "epoch", "log"])
        self.assertEqual(self.sender.duplicates, 1)
        self.assertEqual(self.clock.slept, [0.1, 0.2], "backoff doubles")

    def test_a_503_is_retried_before_the_next_event(self) -> None:
        self.gw.fail = [503, 503]
        self.sender.send("log", {"lines": ["a"]})
        self.sender.send("log", {"lines": ["b"]})
        self.assertEqual(self.gw.posts, [1, 2])
        self.assertEqual(len(self.clock.slept), 2)

    def test_a_4xx_is_raised_at_once(self) -> None:
        self.gw.fail = [400]
        with self.assertRaisesRegex(GatewayError, "HTTP 400"):
            self.sender.send("log", {"lines": ["a"]})
        self.assertEqual(self.clock.slept, [])

    def test_gives_up_at_the_deadline_keeping_the_unacked_events(self) -> None:
        self.gw.fail = [503] * 100
        with self.assertRaisesRegex(EventsUndelivered, "from seq 1 undelivered"):
            self.sender.send("log", {"lines": ["a"]})
        self.assertLessEqual(self.clock.t, 60)
        self.gw.fail = []
        self.sender.deadline = None
        self.sender.send("log", {"lines": ["b"]})  # delivers 1 first, then 2
        self.assertEqual(sorted(self.gw.archive), [1, 2])
        self.assertEqual(self.gw.archive[1]["payload"], {"lines": ["a"]})

    def test_connection_refused_is_retried(self) -> None:
        dead = FakeGateway()
        dead.close()
        s = EventSender(Gateway(dead.url, "tok", timeout_s=1), "s1", deadline=1, clock=self.clock.now, sleep=self.clock.sleep)
        with self.assertRaises(EventsUndelivered):
            s.send("log", {"lines": []})
        self.assertGreater(len(self.clock.slept), 1)


if __name__ == "__main__":
    unittest.main()
