"""What is sent: the messages (workload), when each is due (schedule), how one goes over
SMTP (wire), and what its arrival must be (delivery: the Message-ID, recipient and content
digest each message is stamped with). The bottom wing: it imports no other wing."""
