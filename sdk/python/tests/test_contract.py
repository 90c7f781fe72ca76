import unittest

from swarmml_worker import Contract, ContractError


class ContractTest(unittest.TestCase):
    def env(self, **over: str) -> dict:
        e = {
            "SWARMML_SESSION": "s1",
            "SWARMML_KIND": "train",
            "SWARMML_MODEL": "m",
            "SWARMML_DATASET": "fashion@3",
            "SWARMML_TRAINER": "external",
            "SWARMML_PARAMS": '{"epochs": 2}',
            "SWARMML_DEVICE": "gpu",
            "SWARMML_TIME_BUDGET_S": "600",
            "SWARMML_GATEWAY_URL": "http://127.0.0.1:8080/",
            "SWARMML_TOKEN": "t",
        }
        e.update(over)
        return e

    def test_reads_every_variable(self) -> None:
        c = Contract.from_env(self.env())
        self.assertEqual((c.session, c.model, c.dataset, c.version), ("s1", "m", "fashion", 3))
        self.assertEqual(c.params, {"epochs": 2})
        self.assertEqual(c.device, "gpu")
        self.assertEqual(c.time_budget_s, 600.0)
        self.assertEqual(c.gateway_url, "http://127.0.0.1:8080")

    def test_names_what_is_wrong(self) -> None:
        e = self.env()
        del e["SWARMML_TOKEN"]
        with self.assertRaisesRegex(ContractError, "SWARMML_TOKEN is not set"):
            Contract.from_env(e)
        with self.assertRaisesRegex(ContractError, "name@version"):
            Contract.from_env(self.env(SWARMML_DATASET="fashion"))
        with self.assertRaisesRegex(ContractError, "SWARMML_PARAMS is not JSON"):
            Contract.from_env(self.env(SWARMML_PARAMS="{"))
        with self.assertRaisesRegex(ContractError, "JSON object"):
            Contract.from_env(self.env(SWARMML_PARAMS="[1]"))


if __name__ == "__main__":
    unittest.main()
