"""`premortem watch`: detect an outage in seconds, open an incident, diagnose it, tell someone.

Read-only towards the site: probes are plain GET requests and the access log is only read.
The pieces, each usable alone:

- `probes`: synthetic HTTP checks (async httpx, bounded by a timeout);
- `logtail`: follows the access log across rotation and truncation;
- `window`: the sliding window of recent requests and their 5xx rate;
- `detector`: the incident state machine and its documented thresholds;
- `webhook`: JSON notifications (with a Slack-compatible `text`), never blocking the watch;
- `metrics`: Prometheus metrics with prometheus-client;
- `hooks`: what runs when an incident opens (diagnose, rollback of a recent deploy);
- `watcher`: the loop that joins them and records everything in the site's store.
"""
