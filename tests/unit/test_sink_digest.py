"""The sink's content digest (images/sink/sink.py, in its own image, which cannot import
loadgen) is the load generator's (loadgen/send/delivery.py): a message the generator sent
and the sink received whole has the same digest on both sides, whatever the chain did to its
headers, line ends and transfer encoding; a cut or altered one does not."""

import importlib.util
from email.message import EmailMessage
from pathlib import Path
from types import ModuleType

import pytest

from loadgen.send.delivery import BODY_HEADER, content_digest
from loadgen.send.workload import Workload, pregenerate

SINK = Path(__file__).resolve().parents[2] / "images" / "sink" / "sink.py"


def _load_sink() -> ModuleType:
    """sink.py by path, as a module: importing it defines its functions and starts nothing
    (its server starts in main(), under __main__)."""
    spec = importlib.util.spec_from_file_location("testbed_sink", SINK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sink_digest = _load_sink().content_digest


def _plain() -> bytes:
    return (b"From: a@remote.example\nTo: b@testbed.example\nSubject: plain\nMessage-ID: <plain@remote.example>\n\n"
            b"Hello,\n\nthree lines of plain text.\n")


def _multipart() -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@remote.example", "b@testbed.example", "multipart"
    message.set_content("The text part.\n")
    message.add_alternative("<p>The HTML part.</p>\n", subtype="html")
    message.add_attachment(bytes(range(256)) * 8, maintype="application", subtype="octet-stream",
                           filename="data.bin")
    return message.as_bytes()


def _utf8() -> bytes:
    return ("From: a@remote.example\nTo: b@testbed.example\nSubject: =?utf-8?q?caf=C3=A9?=\nMIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
            "Grüße aus Köln, un café, 東京\n").encode()


def _trailing_whitespace() -> bytes:
    return b"Subject: spaces\n\na line with trailing spaces   \nand a tab\t\n\n\n"


# The load generator's own messages (quoted-printable text, one with a base64 attachment).
LOADGEN = pregenerate(4, Workload(seed=7, median_size=2000, attachment_share=0.5))
MESSAGES = {"plain": _plain(), "multipart": _multipart(), "utf-8 8bit": _utf8(),
            "trailing whitespace": _trailing_whitespace(),
            **{f"loadgen {planned.seq}": planned.data for planned in LOADGEN}}
# One change in a part's content, each message's own (a different body).
ALTERED = {"plain": (b"three lines", b"four lines"), "multipart": (b"The text part.", b"The text port."),
           "utf-8 8bit": ("Köln".encode(), b"Bonn"), "trailing whitespace": (b"a tab", b"a tap")}


def _crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _through_the_chain(raw: bytes) -> bytes:
    """As the sink's SMTP server hands it over (aiosmtpd's original_content): CRLF line ends,
    with the headers the chain adds on top."""
    added = (b"Received: from mta-tx.testbed.example (mta-tx [172.19.0.5])\n\tby internet.sink; "
             b"Thu, 4 Dec 2025 19:08:00 +0000\n"
             b"X-Virus-Scanned: amavisd-new at testbed.example\n"
             b"X-Spam-Status: No, score=-1.9 required=5 tests=[BAYES_00=-1.9]\n"
             b"DKIM-Signature: v=1; a=rsa-sha256; d=testbed.example; s=testbed; bh=x; b=y\n")
    return _crlf(added + raw.replace(b"\r\n", b"\n"))


@pytest.mark.parametrize("name", list(MESSAGES))
def test_the_sink_and_the_load_generator_digest_a_message_alike(name: str) -> None:
    raw = MESSAGES[name]
    assert sink_digest(raw) == content_digest(raw)
    assert sink_digest(_crlf(raw)) == content_digest(_crlf(raw)) == content_digest(raw)


@pytest.mark.parametrize("name", list(MESSAGES))
def test_what_the_sink_received_has_the_digest_of_what_was_sent(name: str) -> None:
    sent = MESSAGES[name]
    assert sink_digest(_through_the_chain(sent)) == content_digest(sent)


def test_a_re_encoded_part_has_the_digest_of_the_original_on_both_sides() -> None:
    """A hop may turn quoted-printable into 8bit (sendmail's local mailer does), or back."""
    quoted = b"Content-Transfer-Encoding: quoted-printable\n\ntrailing space=20\nsoft=\nbreak caf=C3=A9\n"
    eight_bit = b"Content-Transfer-Encoding: 8bit\n\ntrailing space \nsoftbreak caf\xc3\xa9\n"
    assert sink_digest(_through_the_chain(eight_bit)) == content_digest(quoted) == sink_digest(quoted)


def test_trailing_empty_lines_are_left_out_and_trailing_spaces_are_not_on_both_sides() -> None:
    raw = _trailing_whitespace()
    for digest in (sink_digest, content_digest):
        assert digest(raw) == digest(raw.rstrip(b"\n") + b"\n")
        assert digest(raw) != digest(raw.replace(b"spaces   \n", b"spaces\n"))


def test_the_digest_stamped_in_the_header_is_the_senders_and_the_sinks() -> None:
    """pregenerate stamps BODY_HEADER before sending; adding it changes no digest."""
    assert any(b"filename=" in planned.data for planned in LOADGEN)  # an attachment among them
    for planned in LOADGEN:
        assert f"{BODY_HEADER}: {planned.digest}".encode() in planned.data
        assert sink_digest(_through_the_chain(planned.data)) == planned.digest == content_digest(planned.data)


@pytest.mark.parametrize("name", list(ALTERED))
def test_an_altered_body_has_another_digest(name: str) -> None:
    """The test can fail: the two agree on the digest of a message, not on any digest."""
    sent = MESSAGES[name]
    old, new = ALTERED[name]
    altered = sent.replace(old, new, 1)
    assert altered != sent
    assert sink_digest(_through_the_chain(altered)) != content_digest(sent)
    assert sink_digest(altered) == content_digest(altered)


@pytest.mark.parametrize("name", list(MESSAGES))
def test_a_cut_message_has_another_digest(name: str) -> None:
    """As a connection that drops in DATA, or a full disk, might leave it."""
    sent = _crlf(MESSAGES[name])
    head, _, body = sent.partition(b"\r\n\r\n")
    cut = head + b"\r\n\r\n" + body[: len(body) // 2]
    assert sink_digest(_through_the_chain(cut)) != content_digest(sent)
    assert sink_digest(cut) == content_digest(cut)


def test_messages_with_other_bodies_have_other_digests_on_both_sides() -> None:
    for digest in (sink_digest, content_digest):
        digests = [digest(raw) for raw in MESSAGES.values()]
        assert len(set(digests)) == len(digests)
