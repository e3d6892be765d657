"""The web console: an app shell and login page served at ``/`` plus static JS/CSS."""
