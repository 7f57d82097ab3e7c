import Testing

@testable import Distro

@Suite struct MirrorListTests {
    @Test func plainList() {
        let text = """
            # mirrors of the project
            https://mirror.example/debian
            http://other.example:8080/pub/debian/   # trailing comment
            https://MIRROR.example/debian/
            ftp://ftp.example/debian/
            not a url

            https://user:secret@private.example/debian/
            """
        let list = MirrorList.parse(text, location: "mirrors.txt")
        #expect(list.format == .plain)
        #expect(list.bases == ["https://mirror.example/debian/", "http://other.example:8080/pub/debian/"])
        #expect(list.issues.map(\.location) == ["mirrors.txt:5", "mirrors.txt:6", "mirrors.txt:8"])
        #expect(!list.issues.contains { $0.description.contains("secret") })
    }

    @Test func debianMasterlist() {
        let text = """
            Site: ftp.de.debian.org
            Type: Push-Primary
            Archive-architecture: amd64 arm64
            Archive-http: /debian/
            Archive-rsync: debian/
            IPv6: yes

            Site: mirror.example.org
            Archive-http: /debian/
            Archive-https: /pub/debian/

            Site: cdimage-only.example.org
            CDImage-http: /cdimage/

            Site: bad host/name
            Archive-http: /debian/

            This line is broken
            Site: relative.example.net
            Archive-http: debian
            Maintainer: Someone <someone@example.org>
             continued maintainer line: with colon
            """
        let list = MirrorList.parse(text, location: "Mirrors.masterlist")
        #expect(list.format == .debianMasterlist)
        #expect(
            list.bases == [
                "http://ftp.de.debian.org/debian/", "https://mirror.example.org/pub/debian/",
                "http://relative.example.net/debian/",
            ])
        #expect(list.issues.map(\.location) == ["Mirrors.masterlist:15", "Mirrors.masterlist:18"])
    }

    @Test func archMirrorlist() {
        let text = """
            ## Arch Linux repository mirrorlist
            ## Germany
            Server = https://mirror.example.de/archlinux/$repo/os/$arch
            Server=http://mirror.example.org/arch/$repo/os/$arch/
            #Server = https://disabled.example/archlinux/$repo/os/$arch
            Server = rsync://rsync.example/archlinux/$repo/os/$arch
            Servr = https://typo.example/
            Server = https://mirror.example.de/archlinux/$repo/os/$arch
            """
        let list = MirrorList.parse(text, location: "mirrorlist", repo: "core", arch: "x86_64")
        #expect(list.format == .archMirrorlist)
        #expect(
            list.bases == [
                "https://mirror.example.de/archlinux/core/os/x86_64/", "http://mirror.example.org/arch/core/os/x86_64/",
            ])
        #expect(Set(list.issues.map(\.location)) == ["mirrorlist:6", "mirrorlist:7"])

        let withoutArch = MirrorList.parse(text, location: "mirrorlist", repo: "core")
        #expect(withoutArch.bases.isEmpty)
        #expect(withoutArch.issues.contains { $0.message.contains("$arch") })
    }

    @Test func archListWithEveryServerCommented() {
        let text = """
            ## Worldwide
            #Server = https://geo.example/$repo/os/$arch
            #Server = https://other.example/archlinux/$repo/os/$arch
            """
        let list = MirrorList.parse(text, location: "mirrorlist", repo: "extra", arch: "aarch64")
        #expect(
            list.bases == [
                "https://geo.example/extra/os/aarch64/", "https://other.example/archlinux/extra/os/aarch64/",
            ])
    }

    @Test func fedoraMetalink() {
        let text = """
            <?xml version="1.0" encoding="utf-8"?>
            <metalink version="3.0" xmlns="http://www.metalinker.org/" type="dynamic" xmlns:mm0="http://fedorahosted.org/mirrormanager">
             <files>
              <file name="repomd.xml">
               <mm0:timestamp>1701548507</mm0:timestamp>
               <size>6014</size>
               <verification><hash type="sha256">0000</hash></verification>
               <resources maxconnections="1">
                <url protocol="https" type="https" location="DE" preference="100">https://m.example/fedora/linux/releases/40/Everything/x86_64/os/repodata/repomd.xml</url>
                <url protocol="http" type="http" location="US" preference="99">http://n.example/pub/fedora/linux/releases/40/Everything/x86_64/os/repodata/repomd.xml</url>
                <url protocol="rsync" type="rsync" location="US" preference="98">rsync://n.example/fedora/linux/releases/40/Everything/x86_64/os/repodata/repomd.xml</url>
                <url protocol="https" type="https" location="FR" preference="97">https://m.example/fedora/linux/releases/40/Everything/x86_64/os/repodata/repomd.xml</url>
               </resources>
              </file>
             </files>
            </metalink>
            """
        let list = MirrorList.parse(text, location: "metalink")
        #expect(list.format == .metalink)
        #expect(
            list.bases == [
                "https://m.example/fedora/linux/releases/40/Everything/x86_64/os/",
                "http://n.example/pub/fedora/linux/releases/40/Everything/x86_64/os/",
            ])
        #expect(list.issues.map(\.location) == ["metalink:11"])
    }

    @Test func brokenMetalinkKeepsWhatItRead() {
        let text = """
            <metalink xmlns="urn:ietf:params:xml:ns:metalink">
             <file name="x.iso">
              <url>https://a.example/pub/x.iso</url>
              <url>https://b.example/pub/x.iso</url
            """
        let list = MirrorList.parse(text, location: "x.meta4")
        #expect(list.bases.first == "https://a.example/pub/")
        #expect(list.issues.count == 1)
    }
}
