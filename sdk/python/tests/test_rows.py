import unittest

import numpy as np

from swarmml_worker import Dataset, Gateway, decode_rows

from .fake_gateway import FakeGateway, rows_answer


class DecodeTest(unittest.TestCase):
    def test_tabular_rows_with_missing_values(self) -> None:
        x = np.array([[1.5, np.nan], [3, 4], [5, 6]], np.float32)
        y = np.array([0, 1, 2], np.float32)
        r = decode_rows(rows_answer(x, y))
        np.testing.assert_array_equal(r.x, x)
        np.testing.assert_array_equal(r.labels, [0, 1, 2])
        self.assertEqual(r.x.dtype, np.float32)
        r.x[0, 0] = 9  # writable copies
        self.assertEqual(len(r), 3)

    def test_images_padded_to_four_bytes(self) -> None:
        x = np.arange(3 * 3 * 1 * 1, dtype=np.uint8).reshape(3, 3, 1, 1)  # 9 pixel bytes + 3 pad
        y = np.array([7, 8, 9], np.float32)
        r = decode_rows(rows_answer(x, y))
        self.assertEqual(r.x.shape, (3, 3, 1, 1))
        self.assertEqual(r.x.dtype, np.uint8)
        np.testing.assert_array_equal(r.x, x)
        np.testing.assert_array_equal(r.y, y)

    def test_refuses_other_bytes(self) -> None:
        with self.assertRaisesRegex(ValueError, "at least 32 bytes"):
            decode_rows(b"nope")
        with self.assertRaisesRegex(ValueError, "not a swarmml rows answer"):
            decode_rows(b"XXXX" + bytes(28))


class DatasetTest(unittest.TestCase):
    def setUp(self) -> None:
        x = np.arange(100 * 2, dtype=np.float32).reshape(100, 2)
        self.gw = FakeGateway(x=x, y=np.arange(100, dtype=np.float32) % 2)
        self.ds = Dataset(Gateway(self.gw.url, "tok"), "d", 1)

    def tearDown(self) -> None:
        self.gw.close()

    def test_pages_through_each_split_once(self) -> None:
        train = list(self.ds.batches("train", rows_per_call=30))
        self.assertEqual([len(b) for b in train], [24, 24, 24, 8])
        val = self.ds.arrays("validation")
        np.testing.assert_array_equal(val.x[:, 0], np.arange(0, 200, 10))
        both = np.concatenate([self.ds.arrays("train").x[:, 0], val.x[:, 0]])
        self.assertEqual(sorted(both.tolist()), list(range(0, 200, 2)))
        self.assertEqual(len(self.ds.arrays("train", limit=50)), 50)
        self.assertEqual(self.ds.classes, 2)

    def test_a_wrong_token_is_an_error_naming_the_status(self) -> None:
        from swarmml_worker import GatewayError

        with self.assertRaisesRegex(GatewayError, "HTTP 401: bad token"):
            Dataset(Gateway(self.gw.url, "other"), "d", 1).meta


if __name__ == "__main__":
    unittest.main()
