from peftlint.cli import main

main()
