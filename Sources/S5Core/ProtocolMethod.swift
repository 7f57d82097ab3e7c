/// The method integers that open S5 peer-to-peer messages (lib5 `constants.dart`).
public enum ProtocolMethod {
    public static let handshakeOpen = 1
    public static let handshakeDone = 2
    public static let hashQuery = 4
    public static let announcePeers = 8
    public static let signedMessage = 10
    public static let registryQuery = 13
    public static let messageQuery = 0x49
    /// A top-level message whose first byte is 5 is a raw provide record, not MessagePack.
    public static let storageLocationRecord = 5
    public static let registryEntryRecord = 7
    public static let streamMessageRecord = 8

    /// The most connection URIs one peer may list; more are a malformed message.
    public static let maximumURIs = 16
    /// The most peers one announce-peers message may list.
    public static let maximumAnnouncedPeers = 256
    /// The most storage-location types one hash query may ask for.
    public static let maximumQueryTypes = 16
}
