"""`python -m loadgen` (loadgen/__main__.py): the options (options), what each command does
with them (commands, sweep_command). The top wing: nothing imports it but the entry."""
