import math
import os
import signal
import unittest

from swarmml_worker import Contract, Worker

from .fake_gateway import FakeGateway


class WorkerTest(unittest.TestCase):
    def setUp(self) -> None:
        self.gw = FakeGateway()
        self.contract = Contract.from_env(self.gw.env())

    def tearDown(self) -> None:
        self.gw.close()

    def test_reports_the_session_in_order_with_any_metrics(self) -> None:
        with Worker(self.contract, handle_sigterm=False) as w:
            self.assertEqual(w.param("epochs", 1), 3)  # a CLI string converted to the default's type
            self.assertEqual(w.param("lr", 0.5), 0.1)
            self.assertEqual(w.param("missing", "x"), "x")
            w.epoch(1, 3, loss=0.7, valAccuracy=0.8, macroF1=0.75, epochTimeS=1.5)
            w.epoch(2, 3, loss=math.nan, rmse=math.inf)
            w.log("one", "two")
            gen = w.upload_candidate(b"onnx-bytes", {"valAccuracy": 0.8, "macroF1": 0.75})
        self.assertEqual(gen["gen"], 1)
        self.assertEqual(self.gw.kinds(), ["session.started", "epoch", "epoch", "log", "worker.exiting"])
        a = self.gw.archive
        self.assertEqual(a[2]["payload"], {"epoch": 1, "epochs": 3, "loss": 0.7, "valAccuracy": 0.8, "macroF1": 0.75, "epochTimeS": 1.5})
        self.assertEqual(a[3]["payload"], {"epoch": 2, "epochs": 3, "loss": None, "rmse": None})
        self.assertEqual(a[4]["payload"], {"lines": ["one", "two"]})
        self.assertEqual(a[5]["payload"], {"exitCode": 0})
        self.assertEqual(self.gw.uploads, [(b"onnx-bytes", {"valAccuracy": 0.8, "macroF1": 0.75})])

    def test_an_exception_is_reported_as_the_exit_reason(self) -> None:
        with self.assertRaises(ValueError):
            with Worker(self.contract, handle_sigterm=False):
                raise ValueError("loss became NaN at epoch 2")
        self.assertEqual(
            self.gw.archive[2]["payload"], {"exitCode": 1, "reason": "ValueError: loss became NaN at epoch 2"}
        )

    def test_sys_exit_codes_are_reported(self) -> None:
        with self.assertRaises(SystemExit):
            with Worker(self.contract, handle_sigterm=False):
                raise SystemExit(3)
        self.assertEqual(self.gw.archive[2]["payload"], {"exitCode": 3, "reason": "3"})

    def test_sigterm_sets_the_stop_flag_and_the_process_carries_on(self) -> None:
        before = signal.getsignal(signal.SIGTERM)
        try:
            w = Worker(self.contract)
            self.assertFalse(w.stop_requested)
            os.kill(os.getpid(), signal.SIGTERM)
            # The handler runs between bytecodes of the main thread: poll it, with a bound.
            for _ in range(1000):
                if w.stop_requested:
                    break
                signal.sigtimedwait([], 0.001) if hasattr(signal, "sigtimedwait") else None
            self.assertTrue(w.stop_requested)
        finally:
            signal.signal(signal.SIGTERM, before)

    def test_long_logs_are_split_into_events_of_200_lines(self) -> None:
        with Worker(self.contract, handle_sigterm=False) as w:
            w.log(*[f"line {i}" for i in range(450)], "x" * 5000)
        logs = [e["payload"]["lines"] for e in self.gw.archive.values() if e["kind"] == "log"]
        self.assertEqual([len(l) for l in logs], [200, 200, 51])
        self.assertEqual(len(logs[2][-1]), 4000)


if __name__ == "__main__":
    unittest.main()


class CheckpointTest(unittest.TestCase):
    def test_the_handler_address_comes_from_its_websocket_url(self) -> None:
        from swarmml_worker.checkpoints import handler_http_url

        self.assertEqual(handler_http_url("ws://10.0.0.5:8083/ws"), "http://10.0.0.5:8083")
        self.assertEqual(handler_http_url("wss://h.example/handler/ws"), "https://h.example/handler")

    def test_without_a_handler_url_checkpoints_are_refused_clearly(self) -> None:
        gw = FakeGateway()
        try:
            w = Worker(Contract.from_env(gw.env()), handle_sigterm=False)
            self.assertIsNone(w.checkpoints)
            with self.assertRaisesRegex(RuntimeError, "SWARMML_HANDLER_URL"):
                w.save_checkpoint(b"x")
        finally:
            gw.close()
