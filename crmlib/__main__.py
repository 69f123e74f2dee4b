from crmlib.cli import run

run()
