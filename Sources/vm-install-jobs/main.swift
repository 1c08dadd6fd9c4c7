import VMInstallCommands

VMInstallJobsCommand.runMain()
