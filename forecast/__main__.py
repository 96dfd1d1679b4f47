from scaling_forecast.cli import main

main()
