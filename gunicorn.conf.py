"""gunicorn settings read from the working directory (gunicorn loads ./gunicorn.conf.py by itself).

The access log names the route (`/t/<token>`), not the address asked for: a ticket's address is its manage link,
and whoever reads the log must not be able to open or cancel someone's booking with it. busapp sets the route in
the WSGI environ as `busapp.route`; the query string and the referrer are left out for the same reason.
"""
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %({busapp.route}e)s" %(s)s %(B)s %(M)sms "%(a)s"'
