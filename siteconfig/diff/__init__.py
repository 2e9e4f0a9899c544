"""make diff: what a change to a configuration changes, before it is deployed. Two folders (or
one folder and a git revision of it) each run through lint and the suite on chains of their
own, side by side; the report (reports/diff.md, reports/junit-diff.xml) lists the promises
that changed: the rows whose outcome differs, the policy values on each side with the
file:line that set them, and what each class of recipient gets before and after.

sides     OLD and NEW as folders: a folder, or a git revision of NEW's folder taken out
promises  a folder's policy as the suite will read it, flat, each value with where it came from
compare   the two sides' promises and rows: what changed, and whether it was declared
report    reports/diff.md and reports/junit-diff.xml
"""
