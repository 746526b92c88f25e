/// Tag-consistent decoding (issue 10): the captioner only ever heard synthetic renders, the tagger
/// (musicnn) was trained on real recordings and hears their genre far more reliably. Where the tagger is
/// sure of a genre, beam search is steered by it, without retraining:
///
/// - the tags whose mean probability over the captioned windows reaches `threshold` and that name a
///   genre (`tagGenres`) are the *confident* genres; none → decoding is unchanged;
/// - every vocabulary word that names a genre family (`wordGenres`) gets a log-probability bias: words of
///   a family the confident tags support get `+bonus` until a hypothesis has named one (then 0: the
///   bonus draws the search to name the genre once, not to repeat it), words of any other family are
///   banned (−∞) throughout, so a caption never names a genre that contradicts what the tagger is sure of;
/// - beam candidates are ranked by the biased score (the reported `logProbability` includes the bias).
///
/// Several taggers can vote (musicnn MTT and MSD); their confident genres are pooled.
public struct TagConsistency: Sendable, Equatable {
    /// Mean tag probability from which the tagger counts as sure of a tag.
    public var threshold: Float
    /// Log-probability added to every word of a supported genre family at each step.
    public var bonus: Float

    // Chosen on the real-music validation set's live excerpts (docs/RESULTS.md, threshold × bonus grid):
    // the highest genre truth before contradictions rise steeply.
    public static let defaultThreshold: Float = 0.15
    public static let defaultBonus: Float = 4

    public init(threshold: Float = TagConsistency.defaultThreshold, bonus: Float = TagConsistency.defaultBonus) {
        precondition(threshold > 0 && threshold <= 1 && bonus >= 0 && bonus.isFinite)
        self.threshold = threshold
        self.bonus = bonus
    }

    /// Genre tags of musicnn's MTT and MSD taggers → the caption genre families that agree with them.
    /// Families are those of Tools/realmusic/score.py (its COMPATIBLE table).
    public static let tagGenres: [String: Set<String>] = [
        // MagnaTagATune
        "rock": ["rock", "metal"], "metal": ["metal", "rock"], "techno": ["electronic"],
        "electronic": ["electronic"], "dance": ["electronic"], "classical": ["classical"],
        "classic": ["classical"], "ambient": ["ambient", "electronic"], "new age": ["ambient"], "pop": ["pop"],
        "country": ["country"], "opera": ["classical"], "choral": ["classical"],
        // Million Song Dataset (rock, pop, electronic, dance, metal, ambient, country are shared above)
        "alternative rock": ["rock", "metal"], "classic rock": ["rock"], "indie rock": ["rock"],
        "hard rock": ["rock", "metal"], "heavy metal": ["metal", "rock"], "punk": ["rock"],
        "Progressive rock": ["rock", "metal"], "jazz": ["jazz", "blues"], "blues": ["blues", "jazz", "rock"],
        "soul": ["funk_soul"], "funk": ["funk_soul"], "rnb": ["funk_soul"], "Hip-Hop": ["hiphop"],
        "electronica": ["electronic"], "electro": ["electronic"], "House": ["electronic"],
        "chillout": ["ambient"], "folk": ["folk"], "indie pop": ["pop"],
    ]

    /// Caption words that by themselves name a genre family (the corpus captions' genre vocabulary and
    /// the record vocabulary of corpus v2). Words shared with other senses ("dance": also "clog dance",
    /// "ballad", "air", "song") are left out.
    public static let wordGenres: [String: String] = [
        "metal": "metal", "thrash": "metal",
        "rock": "rock", "punk": "rock", "grunge": "rock",
        "blues": "blues", "bluesy": "blues", "boogie": "blues",
        "jazz": "jazz", "swing": "jazz", "swinging": "jazz", "bebop": "jazz", "jazzy": "jazz",
        "reggae": "reggae", "ska": "reggae", "dub": "reggae",
        "latin": "latin", "bossa": "latin", "salsa": "latin", "samba": "latin", "tango": "latin",
        "funk": "funk_soul", "funky": "funk_soul", "soul": "funk_soul", "disco": "funk_soul",
        "hip": "hiphop", "hop": "hiphop", "boom": "hiphop", "bap": "hiphop", "rap": "hiphop",
        "pop": "pop",
        "electronic": "electronic", "electronica": "electronic", "house": "electronic", "techno": "electronic",
        "trance": "electronic", "club": "electronic", "dnb": "electronic", "jungle": "electronic",
        "breakbeat": "electronic", "electro": "electronic", "synthwave": "electronic",
        "ambient": "ambient", "chillout": "ambient",
        "classical": "classical", "orchestral": "classical", "symphonic": "classical", "chamber": "classical",
        "baroque": "classical", "romantic": "classical", "renaissance": "classical", "medieval": "classical",
        "sacred": "classical", "chorale": "classical", "hymn": "classical", "mass": "classical",
        "motet": "classical", "madrigal": "classical", "chanson": "classical", "trecento": "classical",
        "sonata": "classical", "lied": "classical", "aria": "classical", "nineteenth": "classical",
        "cinematic": "classical",
        "folk": "folk", "traditional": "folk", "trad": "folk", "celtic": "folk", "irish": "folk",
        "scottish": "folk", "highland": "folk", "german": "folk", "central": "folk", "european": "folk", "reel": "folk",
        "jig": "folk", "hornpipe": "folk", "strathspey": "folk", "polka": "folk", "fife": "folk",
        "nursery": "folk", "chinese": "folk", "pentatonic": "folk", "luxembourgish": "folk",
        "bluegrass": "folk",
        "country": "country",
        "ragtime": "ragtime", "rag": "ragtime",
        "waltz": "waltz",
        "chiptune": "chiptune",
    ]

    /// The genre families supported by the tags a tagger is sure of. `probabilities` are mean tag
    /// probabilities aligned with `tags`.
    public func confidentGenres(tags: [String], probabilities: [Float]) -> Set<String> {
        precondition(tags.count == probabilities.count, "one probability per tag")
        var families: Set<String> = []
        for (tag, p) in zip(tags, probabilities) where p >= threshold {
            if let supported = Self.tagGenres[tag] { families.formUnion(supported) }
        }
        return families
    }

    /// The per-word bias for a vocabulary (nil: the tagger is sure of no genre, decode as usual).
    public func wordBias(vocabulary: Vocabulary, confidentGenres: Set<String>) -> [Float]? {
        guard !confidentGenres.isEmpty else { return nil }
        return vocabulary.words.map { word in
            guard let family = Self.wordGenres[word] else { return 0 }
            return confidentGenres.contains(family) ? bonus : -Float.infinity
        }
    }

    /// Mean of each column of a `[windows, tags]` row-major taggram (windows ≥ 1).
    public static func meanProbabilities(_ taggram: UnsafeBufferPointer<Float>, windows: Int) -> [Float] {
        precondition(windows >= 1 && taggram.count % windows == 0)
        let tags = taggram.count / windows
        var mean = [Float](repeating: 0, count: tags)
        for w in 0..<windows { for t in 0..<tags { mean[t] += taggram[w * tags + t] } }
        return mean.map { $0 / Float(windows) }
    }
}
