"""Where things are: the repository, the sample folder, and the files a configuration folder
may hold. A leaf: it imports nothing of the project, so every module (the harness and the
load generator too) can take its paths from here without pulling in anything else.

Every file of a folder is optional; what a folder lacks comes from config/sample
(siteconfig/folder.py assembles it and says which file came from where):

  rx/thishost-rx.mc  or rx/sendmail-rx.cf (prebuilt, used as it is)
  rx/access  rx/virtusertable  rx/mailertable   (sendmail maps; makemap'd at build; also
                    genericstable, domaintable, authinfo, and the same under tx/: each map
                    the .cf names is made from the file of its name, empty if there is none)
  rx/sasl-users  rx/Sendmail.conf  rx/tls/rx.crt  rx/tls/rx.key   (submission)
  tx/thishost-tx.mc  or tx/sendmail.cf
  tx/opendkim.conf  rx/opendkim.conf   DKIM signing at MTA-TX, verifying at MTA-RX (OpenDKIM
                    milters); tx/opendkim/* its data sets (in /etc/opendkim/); the keys are
                    made here (siteconfig/dkimkeys.py), never committed
  milter/thishost-milter.mc  or milter/sendmail.cf   the milter topology's one sendmail
                    (TOPOLOGY=milter; it receives with rx/'s maps, SASL and TLS files)
  milter/amavis/*   amavisd-new conf.d snippets applied in the milter topology only
  aliases  users  local-host-names
  amavis/*          amavisd-new conf.d snippets
  spamassassin/*    clamav/*  (extra rules and signatures)
  dns/*.zone        records of your own for the testbed's DNS (e.g. DKIM keys), zone-file
                    lines with absolute names; dns/world.json is made from the policy
  policy.toml       what the suite expects (siteconfig/policy.py); a folder with .mc
                    files of its own and no policy.toml gets one derived from them
                    (siteconfig/derive.py), not the sample's
"""

from pathlib import Path

__all__ = ["ALTERNATIVES", "BUILD", "EXAMPLES", "IGNORED", "KNOWN", "MAPS", "MC", "PREBUILT", "REPO", "SAMPLE"]

REPO = Path(__file__).resolve().parents[1]  # siteconfig/ -> the repository
SAMPLE = REPO / "config" / "sample"
EXAMPLES = REPO / "config" / "examples"
BUILD = REPO / ".build"  # everything made from a folder (assembled configs, keys, shapes, logs); never committed

# Each sendmail of the chain ("mta": the milter topology's one), the .mc its .cf is compiled
# from, and the prebuilt .cf that replaces that .mc when a folder brings one (the image build
# then uses it as it is). One table, read by the assembly and by every check.
MC = {"rx": "rx/thishost-rx.mc", "tx": "tx/thishost-tx.mc", "mta": "milter/thishost-milter.mc"}
PREBUILT = {"rx": "rx/sendmail-rx.cf", "tx": "tx/sendmail.cf", "mta": "milter/sendmail.cf"}
ALTERNATIVES = {PREBUILT[service]: MC[service] for service in MC}  # prebuilt .cf -> the .mc it replaces

# Maps a .cf may name (K lines): the images make each from the folder's file of that name.
MAPS = ["access", "virtusertable", "mailertable", "genericstable", "domaintable", "authinfo"]
# The files the chain reads (the list above), as patterns; a folder's other files are unused.
KNOWN = [*MC.values(), *PREBUILT.values(), *(f"{side}/{name}" for side in ("rx", "tx") for name in MAPS),
         "rx/sasl-users", "rx/Sendmail.conf", "rx/tls/rx.crt", "rx/tls/rx.key", "rx/opendkim.conf",
         "tx/opendkim.conf", "tx/opendkim/*", "milter/amavis/*", "aliases", "users",
         "local-host-names", "amavis/*", "spamassassin/*", "clamav/*", "dns/*.zone", "policy.toml"]
IGNORED = ["README*", "*.md", ".*", "*/.*", "ci/*", ".github/*"]  # documentation and CI files of a config repo
