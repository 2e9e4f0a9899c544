"""A message as DATA sends it, prepared before the clock starts."""

from loadgen.send.wire import on_the_wire


def test_a_message_on_the_wire_has_crlf_doubled_leading_dots_and_the_final_dot() -> None:
    assert on_the_wire(b"a\n.b\r\n..c\rd") == b"a\r\n..b\r\n...c\r\nd\r\n.\r\n"
    assert on_the_wire(b".\r\n") == b"..\r\n.\r\n"
