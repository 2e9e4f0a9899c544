#!/usr/bin/env bash
# Refuse to start when a host port the chain publishes is taken, and say how to move it.
set -u
names=(RX_SMTP_PORT RX_SUBMISSION_PORT OFFICE_SMTP_PORT SINK_API_PORT)
i=0; busy=0
for port in "$@"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port on 127.0.0.1 is in use: choose another, e.g. 'make up ${names[$i]}=$((port + 10000))'" >&2
    busy=1
  fi
  i=$((i + 1))
done
exit $busy
