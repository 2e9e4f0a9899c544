"""Standard test payloads that scanners must recognise, built from parts so that this
source file itself is not flagged by a scanner."""

__all__ = ["EICAR", "GTUBE", "SCORE_10_MARKER"]

# The 68-byte EICAR anti-virus test file.
EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!" + "$H+H*"
# SpamAssassin's Generic Test for Unsolicited Bulk Email: scores 1000.
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*" + "GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
# The testbed's own SpamAssassin rule (config/sample/spamassassin/testbed.cf): scores 10.
SCORE_10_MARKER = "TESTBED-SPAM-SCORE-10"

assert len(EICAR) == 68
