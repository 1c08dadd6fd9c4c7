public enum VMInstallVersion {
    public static let string = "0.1.0"
}
