"""Server-rendered Spanish web pages (Jinja2) on top of the services."""
