"""What the shipped sample configuration (config/sample/) sets up, in one place for the
tests and loadgen: its local domain, its mailbox users and its submission account."""

LOCAL_DOMAIN = "testbed.example"  # config/sample/local-host-names
REMOTE_DOMAIN = "remote.example"  # any domain MTA-TX relays to the sink ("the Internet")
LOCAL_USERS = ("alice", "bob", "carol", "dave")  # config/sample/users; carol is a spam lover
SUBMISSION_LOGIN = (f"alice@{LOCAL_DOMAIN}", "alice-secret")  # config/sample/rx/sasl-users
