import Mustache

// How the templates read the views: a `switch` per view instead of Mustache's default lookup by reflection
// (`Mirror`), which made a page of 50 overview rows take about 40 ms in a debug build. `StatusPagesTests` checks that
// every stored property of every view is found here.

extension ChromeView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "title": title
        case "styleHref": styleHref
        case "jsonHref": jsonHref
        case "overviewHref": overviewHref
        case "peersHref": peersHref
        case "generatedISO": generatedISO
        case "generatedText": generatedText
        case "version": version
        default: nil
        }
    }
}

extension LinkView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "text": text
        case "href": href
        case "isLink": isLink
        default: nil
        }
    }
}

extension TimeView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "iso": iso
        case "utc": utc
        case "ago": ago
        default: nil
        }
    }
}

extension PagerView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "shown": shown
        case "hasPrevious": hasPrevious
        case "previousHref": previousHref
        case "hasNext": hasNext
        case "nextHref": nextHref
        case "summary": summary
        default: nil
        }
    }
}

extension SortLinkView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "label": label
        case "href": href
        case "active": active
        case "linked": linked
        default: nil
        }
    }
}

extension SortLinksView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "worst": worst
        case "mirror": mirror
        case "feed": feed
        case "verified": verified
        case "speed": speed
        case "lastCheck": lastCheck
        case "score": score
        default: nil
        }
    }
}

extension NodeView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "hasID": hasID
        case "id": id
        case "files": files
        case "records": records
        case "peers": peers
        case "crawlStarted": crawlStarted
        case "crawlFinished": crawlFinished
        case "crawlRunning": crawlRunning
        default: nil
        }
    }
}

extension MirrorRowView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "severity": severity
        case "mirror": mirror
        case "mirrorHref": mirrorHref
        case "feed": feed
        case "verified": verified
        case "checked": checked
        case "hasListed": hasListed
        case "listed": listed
        case "mismatch": mismatch
        case "hasMismatch": hasMismatch
        case "missing": missing
        case "hasMissing": hasMissing
        case "errors": errors
        case "hasErrors": hasErrors
        case "lag": lag
        case "speed": speed
        case "lastCheck": lastCheck
        case "score": score
        case "range": range
        case "rangeClass": rangeClass
        case "rangeTitle": rangeTitle
        case "trendSVG": trendSVG
        default: nil
        }
    }
}

extension URLStatusView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "severity": severity
        case "verdict": verdict
        case "file": file
        case "fileHref": fileHref
        case "feed": feed
        case "mirror": mirror
        case "mirrorHref": mirrorHref
        case "reason": reason
        case "httpStatus": httpStatus
        case "url": url
        case "checkedTime": checkedTime
        case "verifiedTime": verifiedTime
        default: nil
        }
    }
}

extension OverviewView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "chrome": chrome
        case "node": node
        case "orderText": orderText
        case "sorts": sorts
        case "rows": rows
        case "pager": pager
        default: nil
        }
    }
}

extension MirrorView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "chrome": chrome
        case "mirror": mirror
        case "range": range
        case "rangeClass": rangeClass
        case "hasRangeReason": hasRangeReason
        case "rangeReason": rangeReason
        case "rows": rows
        case "hasHistory": hasHistory
        case "historyRange": historyRange
        case "historySVG": historySVG
        case "problems": problems
        case "pager": pager
        default: nil
        }
    }
}

extension ExpectedView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "algorithm": algorithm
        case "hex": hex
        case "strength": strength
        case "source": source
        default: nil
        }
    }
}

extension FileView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "chrome": chrome
        case "feed": feed
        case "name": name
        case "size": size
        case "blobID": blobID
        case "blake3": blake3
        case "sha256": sha256
        case "hasMetalink": hasMetalink
        case "metalinkHref": metalinkHref
        case "expected": expected
        case "verifiedCount": verifiedCount
        case "badCount": badCount
        case "good": good
        case "bad": bad
        default: nil
        }
    }
}

extension PeerRowView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "severity": severity
        case "nodeID": nodeID
        case "good": good
        case "bad": bad
        case "hasBad": hasBad
        case "score": score
        case "lastSeen": lastSeen
        default: nil
        }
    }
}

extension PeerCheckView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "severity": severity
        case "nodeID": nodeID
        case "multihash": multihash
        case "url": url
        case "outcome": outcome
        case "bytes": bytes
        case "vote": vote
        case "checked": checked
        default: nil
        }
    }
}

extension PeersView: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "chrome": chrome
        case "node": node
        case "queriesReceived": queriesReceived
        case "queriesAnswered": queriesAnswered
        case "hasConnected": hasConnected
        case "connected": connected
        case "peerRows": peerRows
        case "checks": checks
        case "pager": pager
        default: nil
        }
    }
}
