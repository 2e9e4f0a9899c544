"""What is observed and computed: where and when mail arrives (arrivals), each send matched
to its arrival (matching), latencies, rates and intervals (stats), the knee of a curve
(knee), where a message's time went (breakdown). Imports only send (to know what was sent)."""
