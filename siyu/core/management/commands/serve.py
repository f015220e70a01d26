import os

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the web server (gunicorn, threaded workers), serving static files via whitenoise."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("SIYU_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("SIYU_PORT", "8000")))
        parser.add_argument("--workers", type=int,
                            default=int(os.environ.get("SIYU_WEB_WORKERS", "2")))
        parser.add_argument("--threads", type=int,
                            default=int(os.environ.get("SIYU_WEB_THREADS", "8")))
        parser.add_argument("--no-migrate", action="store_true",
                            help="Skip applying pending migrations first")

    def handle(self, *args, host, port, workers, threads, no_migrate, **opts):
        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)
        from gunicorn.app.base import BaseApplication

        from siyu.wsgi import application

        class SiyuServer(BaseApplication):
            def load_config(self):
                self.cfg.set("bind", f"{host}:{port}")
                self.cfg.set("workers", workers)
                self.cfg.set("threads", threads)
                self.cfg.set("worker_class", "gthread")
                self.cfg.set("accesslog", os.environ.get("SIYU_ACCESS_LOG", "-"))
                self.cfg.set("timeout", 60)

            def load(self):
                return application

        self.stdout.write(f"Siyu listening on http://{host}:{port}/")
        SiyuServer().run()
