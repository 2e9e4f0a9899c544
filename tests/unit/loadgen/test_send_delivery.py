"""What a delivery's content digest sees: the content decoded, not its transfer encoding."""

from loadgen.send.delivery import content_digest


def test_a_re_encoded_copy_has_the_content_of_the_original() -> None:
    """sendmail's local mailer may turn quoted-printable into 8bit: same content."""
    quoted = b"Content-Transfer-Encoding: quoted-printable\n\ntrailing space=20\nsoft=\nbreak caf=C3=A9\n"
    eight_bit = b"Content-Transfer-Encoding: 8bit\n\ntrailing space \nsoftbreak caf\xc3\xa9\n"
    assert content_digest(quoted) == content_digest(eight_bit)
    assert content_digest(quoted) != content_digest(eight_bit.replace(b"soft", b"hard"))
