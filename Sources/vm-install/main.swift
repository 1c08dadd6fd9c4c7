import VMInstallCommands

VMInstallCommand.runMain()
