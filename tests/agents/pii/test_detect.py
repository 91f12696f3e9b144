"""Recognising identifiers: valid numbers found, near misses never."""
from __future__ import annotations

import random
from datetime import date

import pytest

from agents.pii import synth
from agents.pii.detect import classify, find

TODAY = date(2026, 11, 29)


def kinds(text: str) -> list[tuple[str, str]]:
    return sorted((k, n.decode()) for k, n in find(text.encode("utf-8"), TODAY))


@pytest.mark.parametrize("text,expected", [
    pytest.param("身份证:11010519491231002X;", [("id_card", "11010519491231002X")], id="id-upper-X"),
    pytest.param("id 11010519491231002x end", [("id_card", "11010519491231002X")], id="id-lower-x"),
    pytest.param("tel 13800138000", [("phone", "13800138000")], id="phone"),
    pytest.param("+8613800138000", [("phone", "13800138000")], id="phone-plus86"),
    pytest.param("008613800138000", [("phone", "13800138000")], id="phone-0086"),
    pytest.param("+86 138-0013-8000", [("phone", "13800138000")], id="phone-hyphens"),
    pytest.param("电话 138 0013 8000。", [("phone", "13800138000")], id="phone-spaces"),
    pytest.param("card 6222021234567890128\n", [("bank_card", "6222021234567890128")], id="card-19"),
    pytest.param("card 4111111111111111", [("bank_card", "4111111111111111")], id="card-16-visa"),
    pytest.param("卡号 6222 0212 3456 7890 128", [("bank_card", "6222021234567890128")], id="card-groups"),
    pytest.param("11010519491231002X,13800138000,4111111111111111",
                 [("bank_card", "4111111111111111"), ("id_card", "11010519491231002X"), ("phone", "13800138000")],
                 id="csv-row"),
])
def test_valid_identifiers_are_found(text: str, expected: list[tuple[str, str]]) -> None:
    assert kinds(text) == expected


@pytest.mark.parametrize("text", [
    pytest.param("110105194912310021", id="id-wrong-check"),
    pytest.param("110105194913310029", id="id-month-13"),
    pytest.param("110105212512310027", id="id-born-in-future"),
    pytest.param("991105194912310026", id="id-no-province"),
    pytest.param("911010519491231002X", id="id-in-longer-run"),
    pytest.param("11010519491231002X7", id="id-with-digit-after"),
    pytest.param("913800138000", id="phone-in-longer-run"),
    pytest.param("138001380001", id="phone-digit-after"),
    pytest.param("12800138000", id="phone-prefix-12"),
    pytest.param("+1 3800138000 +13800138000", id="not-plus86"),
    pytest.param("9138-0013-8000", id="grouped-phone-after-digit"),
    pytest.param("4111111111111112", id="card-wrong-luhn"),
    pytest.param("14111111111111111", id="card-in-longer-run"),
    pytest.param("1234567890123452", id="card-no-scheme-prefix"),
    pytest.param("2024 0101 1200 0000 2025", id="grouped-digits-of-other-data"),
    pytest.param("订单号 20241129123456789012345", id="order-number"),
])
def test_near_misses_are_not_identifiers(text: str) -> None:
    assert kinds(text) == []


def test_generated_corpus_has_full_precision_and_recall() -> None:
    rng = random.Random(7)
    valid, lines = [], []
    for _ in range(400):
        row = [synth.resident_id(rng), synth.phone(rng), synth.bank_card(rng)]
        valid += row
        lines.append(",".join(row + synth.near_misses(rng)))
    found = [n.decode() for _, n in find("\n".join(lines).encode(), TODAY)]
    assert sorted(found) == sorted(v.upper() for v in valid)


def test_gbk_text_is_scanned_without_decoding() -> None:
    data = "姓名,身份证\n张三,11010519491231002X\n".encode("gbk")
    assert [k for k, _ in find(data, TODAY)] == ["id_card"]


def test_classify_rejects_digits_followed_by_x_that_are_not_ids() -> None:
    assert classify(b"13800138000X", TODAY) is None


@pytest.mark.parametrize("text,found", [
    pytest.param("sha256 9f2c13800138000e4b1d0c8a7f6e5d4c3b2a1908f7e6d5c4b3a2918f7e6d5c4b", 0, id="inside-a-hash"),
    pytest.param("token=QmFzZTY0IGRhdGE13800138000ZW5jb2RlZA", 0, id="inside-base64"),
    pytest.param("tel13800138000", 1, id="after-a-word"),
    pytest.param("ID11010519491231002X号", 1, id="after-a-label"),
])
def test_digits_inside_long_tokens_are_not_identifiers(text: str, found: int) -> None:
    assert len(kinds(text)) == found


def test_a_manifest_of_hashes_holds_no_identifiers() -> None:
    import json
    import os

    from agents.pii.manifest import batch_document

    rng = random.Random(3)
    doc = batch_document("B1", os.urandom(16), [synth.phone(rng).encode() for _ in range(5000)])
    assert kinds(json.dumps(doc)) == []


def test_full_width_digits_typed_by_chinese_input_methods() -> None:
    assert kinds("手机：１３８００１３８０００，身份证：１１０１０５１９４９１２３１００２Ｘ") == [
        ("id_card", "11010519491231002X"), ("phone", "13800138000")]


def test_runs_of_every_length_are_grouped_apart() -> None:
    # runs of 272 and 267 digits (16 and 11 modulo 256) that begin like a card and a mobile: no identifiers
    text = ("4111111111111111" + "1" * 256 + ",13800138000," + "13800138000" + "8" * 256 + ",11010519491231002X,"
            + "6" * 20 + ",4111111111111111")
    assert kinds(text) == [("bank_card", "4111111111111111"), ("id_card", "11010519491231002X"),
                           ("phone", "13800138000")]


HEX_64 = "9f2c4e4b1d0c8a7f6e5d4c3b2a1908f7e6d5c4b3a2918f7e6d5c4b3a29180abc"


@pytest.mark.parametrize("text,found", [
    pytest.param(f"cardholder6222 0212 3456 7890 128 sha256={HEX_64}", ["6222021234567890128"],
                 id="grouped-after-a-word-hash-elsewhere"),
    pytest.param(f"QmFzZTY0IGRhdGE+8613800138000 {HEX_64}", ["13800138000"], id="plus86-after-a-word-hash-elsewhere"),
    pytest.param(f"138-0013-8000{HEX_64}", [], id="grouped-glued-to-a-hash"),
    pytest.param(f"{HEX_64}+8613800138000", ["13800138000"], id="plus-ends-the-hash"),
    pytest.param(f"{HEX_64[:20]}+8613800138000abcdefghijk", [], id="plus86-digits-in-a-long-token"),
])
def test_long_tokens_are_judged_by_the_run_each_end_of_a_number_is_in(text: str, found: list[str]) -> None:
    # a '+' or the spaces of a grouped number end a run of letters and digits
    assert [n for _, n in kinds(text)] == found


@pytest.mark.parametrize("text,expected", [
    pytest.param("+11010519491231002X", [], id="plus-before-an-id"),
    pytest.param("+8613800138000X", [], id="plus86-phone-then-x"),
    pytest.param("到期 2024-11-29 电话 138-0013-8000", [("phone", "13800138000")], id="grouped-after-a-date"),
    pytest.param("已联系，客户 13800138000：承诺", [("phone", "13800138000")], id="full-width-punctuation-only"),
])
def test_candidate_forms(text: str, expected: list[tuple[str, str]]) -> None:
    assert kinds(text) == expected


@pytest.mark.parametrize("text,expected", [
    pytest.param("卡号 60142829141777636", [("bank_card", "60142829141777636")], id="card-17-unionpay-domestic-60"),
    pytest.param("卡号 622848170669074393", [("bank_card", "622848170669074393")], id="card-18-unionpay-62"),
    pytest.param("436742150008063606", [], id="luhn-valid-18-digits-visa-prefix"),
    pytest.param("620102198213322047", [], id="gansu-id-with-mistyped-date-not-a-card"),
])
def test_cards_of_17_and_18_digits_are_unionpay_debit_cards(text: str, expected: list[tuple[str, str]]) -> None:
    assert kinds(text) == expected
