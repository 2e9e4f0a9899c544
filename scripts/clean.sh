#!/usr/bin/env bash
# Remove the containers, networks and volumes of every compose project of this testbed:
# "testbed" (make up) and "testbed-<hex>" (one per test run), including leftovers of
# runs that were killed. Nothing else on the host is touched.
set -euo pipefail
projects=$(
  { docker ps -a --format '{{.Label "com.docker.compose.project"}}'
    docker network ls --format '{{.Label "com.docker.compose.project"}}'
    docker volume ls --format '{{.Label "com.docker.compose.project"}}'
  } | grep -E '^testbed(-[0-9a-f]{8})?$' | sort -u || true)
for project in $projects; do
  echo "removing compose project $project"
  docker compose -p "$project" down --volumes --remove-orphans --timeout 2 >/dev/null 2>&1 || true
  # down only knows what the compose file names; sweep anything left with the label.
  docker ps -aq --filter "label=com.docker.compose.project=$project" | xargs -r docker rm -f >/dev/null
  docker network ls -q --filter "label=com.docker.compose.project=$project" | xargs -r docker network rm >/dev/null
  docker volume ls -q --filter "label=com.docker.compose.project=$project" | xargs -r docker volume rm >/dev/null
done
