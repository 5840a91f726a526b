"""Readers of the files a PHP site's servers are configured with, one module per file kind.

`apache` (httpd.conf with its Includes and envvars), `nginx` (crossplane), `phpfpm` (pools),
`phpini` (PHP's logging settings), `wpconfig` (wp-config.php). Used alike by check, diagnose,
deploy, stage and the lab. Read-only; they depend on nothing of premortem above the model.
"""
