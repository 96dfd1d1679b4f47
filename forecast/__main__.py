from scaling_forecast.cli.main import main

main()
