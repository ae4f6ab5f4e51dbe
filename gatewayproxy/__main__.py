from gatewayproxy.cli import main

main()
