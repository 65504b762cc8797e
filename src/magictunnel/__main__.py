from magictunnel.cli.main import main

main()
