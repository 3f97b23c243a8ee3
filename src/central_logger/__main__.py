from central_logger.cli import main

main()
