"""The configuration wing of the testbed: a site's configuration folder and what it promises.

layout        where things are: the repository, the sample, the files a folder may hold
errors        the testbed's own errors, every wing's, under one base (TestbedError)
run_settings  one chain run's settings (workers, R, the switches) and the one writer of
              compose's per-run variables; the bounds of the counts, which the policy reads too
policy        policy.toml, validated: what the suite expects of the chain built from a folder
folder        assembles a CONFIG folder over config/sample (`make config`)
configfiles   reads an assembled folder's files, each shown by where it came from
compiled      reads the .cf files compiled into the images
dnsworld      the DNS world the policy implies (dns/world.json, for the DNS image)
check         checks a folder before anything starts (`make lint-config`), comparing the policy
              with the configuration as compiled into the images

The chain harness (harness/) and the load generator read the policy from here; nothing here
starts the chain.
"""
