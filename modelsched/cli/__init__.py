"""The command line: click commands, composition, output formats, exit codes.

The only package that prints. Commands parse options, call the core, format, exit;
`main.main()` is the single error boundary.
"""
