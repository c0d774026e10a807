from .arbiter import main

main()
