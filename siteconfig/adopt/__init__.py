"""`make adopt`: a site's one sendmail .mc split into the document's two instances
(README.sendmail-dual, "If you already have an existing sendmail installation"):

  mc.py        the .mc read as m4 statements, nothing lost
  rules.py     where each statement goes: receiving, delivering, general, resource limit
  document.py  the document's own lines for MTA-RX and MTA-TX
  pair.py      the split, with a dnl note on each line saying which rule placed it
  report.py    adopt.md, every decision
  real.py      `make test-real`: real hosts' .mc files from Debian's sendmail-cf, adopted and run
"""
