"""sha256 and size of every shipped dataset file, copied from the datasets' SOURCE.md files.

Keys are paths relative to the dataset root (``datasets/``). Generated once from the SOURCE.md tables; the
Planetoid ``ind.*`` pickles are always checked against this table before they are unpickled.
"""

from __future__ import annotations

__all__ = ["KNOWN_FILES"]

# path -> (bytes, sha256)
KNOWN_FILES: dict[str, tuple[int, str]] = {
    "actor/raw/film_split_0.6_0.2_0.npz": (4214, "4505a41d4e90abd94d1ec22571ce528b09ad7cf20d87f764aebd4177590767f5"),
    "actor/raw/film_split_0.6_0.2_1.npz": (4231, "1871b0d24e3977c41e378fd24acc8025b63f86b77739be77a5b558d1287f207d"),
    "actor/raw/film_split_0.6_0.2_2.npz": (4224, "d26680e911ef3ecc9fc2a26d90c9d35028c63aadd7a5aea774649d1496c282cb"),
    "actor/raw/film_split_0.6_0.2_3.npz": (4207, "6755ad5f6a0be8594b344af3d2261eed935b83b73c4d70136e1a7beea7f78cb0"),
    "actor/raw/film_split_0.6_0.2_4.npz": (4233, "328fdca62b25074f21f2922518e042f24b3b8a1fc378f9dfb2cae36439aed902"),
    "actor/raw/film_split_0.6_0.2_5.npz": (4224, "5b3161a8dc8de4b2e651ebd56d68e768d1377044895b325566117fe26ab81cb7"),
    "actor/raw/film_split_0.6_0.2_6.npz": (4221, "e251b38abd4d7931b5e9ae5aba99dcdf87f0be283bdf6e65421274a1c9ef1df6"),
    "actor/raw/film_split_0.6_0.2_7.npz": (4205, "12164ef9f5620a2f12a387f4f2b8636859d42201101d6d32829ade62d5a98326"),
    "actor/raw/film_split_0.6_0.2_8.npz": (4217, "405cd1f7f631f678119f8bf2405809e86614d532985beb59566fcf95abd35b3f"),
    "actor/raw/film_split_0.6_0.2_9.npz": (4208, "505691c5d41bb37b20d085415dcdde2e8e68b5bc4e1feb2c0e361308002012bb"),
    "actor/raw/out1_graph_edges.txt": (323820, "997cdce67ea9c29257d3ffe796328391931901cf823830affa453178b60e2c3e"),
    "actor/raw/out1_node_feature_label.txt": (
        207718,
        "1d5cdd094f8b91e770f6decfca85b35cf42f75d1efb51055fd6af16e11820ff8",
    ),
    "amazon/Computers/raw/amazon_electronics_computers.npz": (
        3406852,
        "3fdcaaaed9208b9cc9f9dc1698d4e926dec4e1e57bc5f640eb6c0ab8132f1a17",
    ),
    "amazon/Photo/raw/amazon_electronics_photo.npz": (
        1768661,
        "76d52954664e2eaea2e62ede1e74f0ad7e657d92e22b1c6a1e307a43e2e027f2",
    ),
    "coauthor/CS/raw/ms_academic_cs.npz": (2789274, "7ac5c70cf637c3ef1557111d388366d422192e071dcdc4df79c0b68d12f69f5e"),
    "coauthor/Physics/raw/ms_academic_phy.npz": (
        3765205,
        "c598b313ee474875ef5e6b0dc2d06cacbae80572ebb9d4baa92512decb85bfe0",
    ),
    "planetoid/citeseer/raw/citeseer_split_0.6_0.2_0.npz": (
        2266,
        "31d483e4c9cbdd031c35e284fbda3935bfda6901b8618e4ef0381af5b9143582",
    ),
    "planetoid/citeseer/raw/citeseer_split_0.6_0.2_1.npz": (
        2284,
        "1e02e3220676a90715b5a868b207dc19f49e5bc13ef1e8a8c8305fb46e028659",
    ),
    "planetoid/citeseer/raw/citeseer_split_0.6_0.2_2.npz": (
        2261,
        "910ce9d1a9c12f2ce84486fa7d1953d560c2cf57f9e0c213a4ae362ca56bff77",
    ),
    "planetoid/citeseer/raw/citeseer_split_0.6_0.2_3.npz": (
        2278,
        "e8c84d2e0099b3c0d692a68126c03370579f0cd83c0dab42b25a0fb3b94cb2c6",
    ),
    "planetoid/citeseer/raw/citeseer_split_0.6_0.2_4.npz": (
        2122,
        "a45c9e6b4abe527499a1a1bf545063cdc910c82ef4676f1ef4e483bb77712c8e",
    ),
    "planetoid/citeseer/raw/citeseer_split_0.6_0.2_5.npz": (
        2123,
        "fc0f6091daab2b0f37a3522dbc60052d9bce4209e7c06482f6beb61a4ed442b9",
    ),
    "planetoid/citeseer/raw/citeseer_split_0.6_0.2_6.npz": (
        2260,
        "c99f610ff84bf5f5c3fe71b548c3cdf9c9bf02185d0152432b290877df1c4a3b",
    ),
    "planetoid/citeseer/raw/citeseer_split_0.6_0.2_7.npz": (
        2269,
        "26bb7e5ea3aed014df5765af845fae70db9cdbb8875c46fc89cc4d6d042fb182",
    ),
    "planetoid/citeseer/raw/citeseer_split_0.6_0.2_8.npz": (
        2261,
        "f8efadce7a3732ac39ec6625f591c9ed0b4222d95257f25f2a05ad5518e4a7eb",
    ),
    "planetoid/citeseer/raw/citeseer_split_0.6_0.2_9.npz": (
        2278,
        "d9e586dad1886b3e1fdf3999140a192bb0cacea67c7849262ec862b8e7286cdf",
    ),
    "planetoid/citeseer/raw/ind.citeseer.allx": (
        595021,
        "2ac30345d95c9ec933a817ee0bdd6a5f077f8c184a20e696910192d534414668",
    ),
    "planetoid/citeseer/raw/ind.citeseer.ally": (
        55623,
        "f704b2d986dde6c2669934de1f3ae5696a6cf9455c0f6b2646a2d135ea0a1c95",
    ),
    "planetoid/citeseer/raw/ind.citeseer.graph": (
        61987,
        "d79a4ef9d3e7169aee8946145f6b7306e35bc79bffad26346cfb94e10e9912a7",
    ),
    "planetoid/citeseer/raw/ind.citeseer.test.index": (
        5000,
        "2af990671580b6b2df5d158d1038f8292e30c9cd821b5453f399659b25b723d4",
    ),
    "planetoid/citeseer/raw/ind.citeseer.tx": (
        260321,
        "539a8906a2da97628d212f2fdd668c109a8b3f0d36574b59e5d3fd5b5303da21",
    ),
    "planetoid/citeseer/raw/ind.citeseer.ty": (
        24135,
        "55e5bd1ba1e733a04598753ad1a8d57957f4b8f89e74519f41f4f4938767e4ce",
    ),
    "planetoid/citeseer/raw/ind.citeseer.x": (
        31087,
        "d20de19150741e555de0ed037195630fc194114ebc7fd72ced62810148aa22f6",
    ),
    "planetoid/citeseer/raw/ind.citeseer.y": (3014, "8ba87e515d8e3ee3cf52f6d2c5b86aa73f11ecad825a808455209ec26cd54924"),
    "planetoid/cora/raw/cora_split_0.6_0.2_0.npz": (
        1989,
        "619931e6c3f0248bf9c7b6be24680a0a617bcfaba661cb0d7afaee8e18a74a51",
    ),
    "planetoid/cora/raw/cora_split_0.6_0.2_1.npz": (
        1958,
        "d24be667034cb15a55bbf512dbae07b39c758eed66a9ba27106fa795422fe11c",
    ),
    "planetoid/cora/raw/cora_split_0.6_0.2_2.npz": (
        1967,
        "811fb695c4c9ab0a53ab3a665bf4232652a08a6e38faac5b43a7da43a8454b74",
    ),
    "planetoid/cora/raw/cora_split_0.6_0.2_3.npz": (
        1956,
        "9d9c19d88a689b76a4b97e8694ef8d20cb0f1b192bbd05a0d5649c91f0cb6ef4",
    ),
    "planetoid/cora/raw/cora_split_0.6_0.2_4.npz": (
        1942,
        "3040b6bc0ddfff3757d55f514becf0b1b6b2e382114bfb0bc900dbcbb58fca17",
    ),
    "planetoid/cora/raw/cora_split_0.6_0.2_5.npz": (
        2008,
        "52373862971060e366829930332acabaa90cc6f41019c52bf6c92e4c22f8f093",
    ),
    "planetoid/cora/raw/cora_split_0.6_0.2_6.npz": (
        1944,
        "07847ea94e8b19970cf86731f19869aac0c56310d27f687d0feb9553d7525dd6",
    ),
    "planetoid/cora/raw/cora_split_0.6_0.2_7.npz": (
        1962,
        "262573079c8b1f4bc043d32edd3d23a6c36f1d7258efe60c11a6197ba0eee560",
    ),
    "planetoid/cora/raw/cora_split_0.6_0.2_8.npz": (
        1956,
        "d6c6a2163aeadd103ae386e800e473d2388da866f3f464199180d9b0e2f7d6cc",
    ),
    "planetoid/cora/raw/cora_split_0.6_0.2_9.npz": (
        1948,
        "9d236d0cf723871d88dea567afe92d50c11d0ffba280349a5cc7f5f2ea42202f",
    ),
    "planetoid/cora/raw/ind.cora.allx": (257305, "9419ba2f26f5c35243db64aba110e0f35a04851609e0dc5433450676ca6b8543"),
    "planetoid/cora/raw/ind.cora.ally": (47959, "2b998f5cc7fedc86e7f97ca2498f47a1ffc1462c29e2d578b23bf3f62b6e7d71"),
    "planetoid/cora/raw/ind.cora.graph": (59847, "58f13302f39dde8852dad6fe6d15b89b077b6d7f837626bce671ef80344b383d"),
    "planetoid/cora/raw/ind.cora.test.index": (
        5000,
        "297ce89af2b51a6a194181c7dbe1796c6a1cf9cd9349a88383b1b1e227867875",
    ),
    "planetoid/cora/raw/ind.cora.tx": (148025, "b9afbaa4a400df991f6f02ef677e1e44da55ffc04801fd02f9e673987829226a"),
    "planetoid/cora/raw/ind.cora.ty": (28135, "41f5ac76596a1699cc33f53084a2419e92961c42bb75f36fc38e616d348532ad"),
    "planetoid/cora/raw/ind.cora.x": (22119, "23cfa55d91c6f624233f5eb7b6e3f141f1bd2b2ae39608a63cf5d084bb27baab"),
    "planetoid/cora/raw/ind.cora.y": (4054, "94465c14eb53e04ca262198dcbb2521ee8af60fb3f3d546cd6ca24a511b0e7d1"),
    "planetoid/pubmed/raw/ind.pubmed.allx": (
        7578385,
        "508e538e2abdccdd54c4d3e9f49d638b4af7107d85845f66ddea5a5152658b7e",
    ),
    "planetoid/pubmed/raw/ind.pubmed.ally": (
        224739,
        "0c37bbe3b5014ec365e9d393cf4791925e5ed94fb194305d74f064a8d7b50f0e",
    ),
    "planetoid/pubmed/raw/ind.pubmed.graph": (
        471808,
        "5b89f0036ca22909471f1e6558eb42fa06e0c730a577bde5b058b40638f81dc9",
    ),
    "planetoid/pubmed/raw/ind.pubmed.test.index": (
        6000,
        "b101d421688bbaecbd82e8a18f1e282378d6830f3a37666f28ebc47f844341b5",
    ),
    "planetoid/pubmed/raw/ind.pubmed.tx": (405505, "4eb5f5d0f30f26497eb0ac6ac9719d09c67e284f1ed0385c93f3ef27a671da3d"),
    "planetoid/pubmed/raw/ind.pubmed.ty": (12135, "ee2e0d4819d9fbcc403689c3bf2e49face401b605932f093bc58ab6461130fdd"),
    "planetoid/pubmed/raw/ind.pubmed.x": (23172, "fbe9cb5c47200d1b7769a26e579be3b7130b556831f9d850e77c4c74f2599b33"),
    "planetoid/pubmed/raw/ind.pubmed.y": (854, "e6c807633307a07ed659249006536a147c7999c797f11a2560752990181b41b3"),
    "planetoid/pubmed/raw/pubmed_split_0.6_0.2_0.npz": (
        9669,
        "a15825b5bf77ffd2e9179e354f455bb9a6f8c4886cb28796688a38d45d75bdc9",
    ),
    "planetoid/pubmed/raw/pubmed_split_0.6_0.2_1.npz": (
        9664,
        "51f2349156410d851859ff4858ecd401d05d024f1a3936250dd8e844a6fd527b",
    ),
    "planetoid/pubmed/raw/pubmed_split_0.6_0.2_2.npz": (
        9706,
        "d94a2a3d607f23d7dc88dabb966db7c7da187e0a2af3c848d88ab0c5452c4a2b",
    ),
    "planetoid/pubmed/raw/pubmed_split_0.6_0.2_3.npz": (
        9653,
        "62c389ddac567fcd25654db846fc693973c69cddf083f5495d33b592a768515e",
    ),
    "planetoid/pubmed/raw/pubmed_split_0.6_0.2_4.npz": (
        9705,
        "3b2bbeb2f4bbee257bb4c626c15c3e3dd0e9da6ed23bf16f6ac520b95e18f84d",
    ),
    "planetoid/pubmed/raw/pubmed_split_0.6_0.2_5.npz": (
        9640,
        "23aea01576f71aa165cd70564fb53b3f158d1ff71c1227e062797870fe130551",
    ),
    "planetoid/pubmed/raw/pubmed_split_0.6_0.2_6.npz": (
        9701,
        "9122bd4e8e42cab8d33e952693d18d0f49c5f11327b922baefb81228ee903c44",
    ),
    "planetoid/pubmed/raw/pubmed_split_0.6_0.2_7.npz": (
        9710,
        "958706e960939c716a5204671c08399864600ce82094755b2e61975137ccfae9",
    ),
    "planetoid/pubmed/raw/pubmed_split_0.6_0.2_8.npz": (
        9705,
        "764dd33802022d7ab2595f08f21b424e83007aceeb5f85c9403c74bf791f56f6",
    ),
    "planetoid/pubmed/raw/pubmed_split_0.6_0.2_9.npz": (
        9704,
        "b9d4b4362fc02751c168f68f4120ab2fb516f4c84d447571653f1cd692946a66",
    ),
    "seal_link_prediction/mat/Celegans.mat": (6263, "450bb6f3ca833a65f53ee59103945ef87da70de2c6d262b1a760b9eefce287d6"),
    "seal_link_prediction/mat/Ecoli.mat": (35769, "6701fdf0a01c01406e98f9874b04d4fbcae5786d71fad009f4501c0b6086df5e"),
    "seal_link_prediction/mat/NS.mat": (9379, "c69258a674e13115e34ec11343c92f352bcec635baf3fe40f0adf6e8a5037019"),
    "seal_link_prediction/mat/PB.mat": (51773, "c0eca0a3b5bac0ecd46491c2a1e080ec22e445d28f9975bc776dc07b3d672d88"),
    "seal_link_prediction/mat/Power.mat": (31194, "87d7b9d5449b6a18fad4fdd662efd33be84c805ea66692f9e2e0791569c5a478"),
    "seal_link_prediction/mat/Router.mat": (31434, "bae603199c2ddb0f8776acb1962c9c6ed89773da9d41377d6a7f8cc2b1e3a1c1"),
    "seal_link_prediction/mat/USAir.mat": (5213, "6b48a37e2bb398234e5383787c30dca087de704366a2b7b05d64cc2f53210e0b"),
    "seal_link_prediction/mat/Yeast.mat": (34354, "2d199acffa6cecd9dfd0d13f0c4eaecd34158e83f1a717e5da7e38089692e112"),
    "seal_link_prediction/txt/Celegans.txt": (
        16535,
        "386a62a23faea46584188a05e190010cd7b317021dfe3e2948fe0fb8411a7ca9",
    ),
    "seal_link_prediction/txt/NS.txt": (43461, "2521bdae0f66bab156e82daaf1db7775cef75e7244c2bde4023adc7fa2081c23"),
    "seal_link_prediction/txt/PB.txt": (160121, "6bce5de253c734604fe3395eb01ef02fad358314a4c67afdb628eac974e8a653"),
    "seal_link_prediction/txt/Power.txt": (69598, "068e3413a03be675bfbc6103ae1d47ef01c6c14ece0c437d56c48a9eee065c7c"),
    "seal_link_prediction/txt/Router.txt": (66783, "f4f776efc88b0de5ce5358b17a7d1718445ae0dc99f42de8d33302d27e0883b5"),
    "seal_link_prediction/txt/USAir.txt": (55276, "80dcddd8538a4dae5f9d60c91f84b10d59f6b0705baf04788e22c6660f51ad0b"),
    "seal_link_prediction/txt/Yeast.txt": (110704, "a4c68da26c7692535735d1fdd5557550ce11ce11cb71afa00448111b8bc51b5d"),
    "webkb/cornell/raw/cornell_split_0.6_0.2_0.npz": (
        704,
        "14022a1e19ec7fc0a07a2c06a785a2f9dc52809dbcd1c14fc318f7800675d73f",
    ),
    "webkb/cornell/raw/cornell_split_0.6_0.2_1.npz": (
        700,
        "5568fa27e968a724c92211bf97026a36a08893cf94b218043e49b4c973c35cfb",
    ),
    "webkb/cornell/raw/cornell_split_0.6_0.2_2.npz": (
        695,
        "763fc1f423395e4172617fa5b6bc0d7adad2241e5fedd1a4f0a098a67f9dc8e9",
    ),
    "webkb/cornell/raw/cornell_split_0.6_0.2_3.npz": (
        701,
        "4334321cd9ec42de9d51107fb9a6dc310512e0921bc1cff0f390301ee37315fa",
    ),
    "webkb/cornell/raw/cornell_split_0.6_0.2_4.npz": (
        759,
        "2b6b3ef396f4dc7fcdc276fb16b88bb87409b25879dd672b3a506eca844dd8d7",
    ),
    "webkb/cornell/raw/cornell_split_0.6_0.2_5.npz": (
        754,
        "1a40ef8b20aa9e1aa850e1abdaba3efac1f66c98ef2c6a59eadefa21136ece6b",
    ),
    "webkb/cornell/raw/cornell_split_0.6_0.2_6.npz": (
        758,
        "bcddf4ab59eae4c7d47b8a6cec9025a54ec0e6d3f3bdcd7678e201f25ace4642",
    ),
    "webkb/cornell/raw/cornell_split_0.6_0.2_7.npz": (
        693,
        "2b497e12dfc123d7e7c9bb4fc4a82b5bee18409e109a3e3a04da439cacec964d",
    ),
    "webkb/cornell/raw/cornell_split_0.6_0.2_8.npz": (
        701,
        "5c4e110d252d7ad156b2e4cd34b6dbd1cecbcc1755f8d72e932cc2a54f2b643c",
    ),
    "webkb/cornell/raw/cornell_split_0.6_0.2_9.npz": (
        704,
        "80f1531807194d301affbf6f879a4ab4f56a19bdccb62d192e3ecd1b5275f052",
    ),
    "webkb/cornell/raw/out1_graph_edges.txt": (
        2001,
        "c4522a00cc40873c8a04a3a07c49e24a48a507eb284ac9c9f2d3e0590351bbb7",
    ),
    "webkb/cornell/raw/out1_node_feature_label.txt": (
        624308,
        "cf5a3ca346cdd1210b8342e22517fcbbdae658065b7a3145f59350e50e6236a3",
    ),
    "webkb/texas/raw/out1_graph_edges.txt": (2172, "0fe85183243a78cbee9b85a684f8240963d04d1020d10e9cd2b8cfb25e33b476"),
    "webkb/texas/raw/out1_node_feature_label.txt": (
        624308,
        "cf5a3ca346cdd1210b8342e22517fcbbdae658065b7a3145f59350e50e6236a3",
    ),
    "webkb/texas/raw/texas_split_0.6_0.2_0.npz": (
        698,
        "7ba77bf7a8856fcc0ab15623a611b8cdce994e820f577da914123fb4f45272b0",
    ),
    "webkb/texas/raw/texas_split_0.6_0.2_1.npz": (
        701,
        "21cc244a96e3c51ad7993afb4dd227f90e467d82b964bb42d7d9fc500a6ef87f",
    ),
    "webkb/texas/raw/texas_split_0.6_0.2_2.npz": (
        756,
        "b9e96a699ccf3a4c31ffbd03e52b25570889833425d20fa44e06c37b327cf61e",
    ),
    "webkb/texas/raw/texas_split_0.6_0.2_3.npz": (
        759,
        "1a7deeb1285009789d5e6045d7e39f7d019c9223d9a75a2b7ce5e26d33b51f63",
    ),
    "webkb/texas/raw/texas_split_0.6_0.2_4.npz": (
        702,
        "b5419ff3fe31adcae66fdb085d4f47d0b188e9436ab59f438632af969aafc674",
    ),
    "webkb/texas/raw/texas_split_0.6_0.2_5.npz": (
        691,
        "68405fd1b9ff6105d99717220ecbd198785e338bf4a73abee722bbc9703d2667",
    ),
    "webkb/texas/raw/texas_split_0.6_0.2_6.npz": (
        756,
        "8ad78b973164e70e5ac0d282e79adcbc6006e373909fbdfd72a13131e09040b8",
    ),
    "webkb/texas/raw/texas_split_0.6_0.2_7.npz": (
        693,
        "a84bcbf997365bddf5fdf72ed49dc7e435e475f8c6210f8cdee7c8581a2bd6df",
    ),
    "webkb/texas/raw/texas_split_0.6_0.2_8.npz": (
        762,
        "65ba65f296f91d40d2d7d3c9369b67415094a7e254c6eee48cd6d6531c586fdf",
    ),
    "webkb/texas/raw/texas_split_0.6_0.2_9.npz": (
        693,
        "4306981d654ad8835c000c1f73fb6c1e60dfe99e26c13a6073f3b0f4cc3ce6ee",
    ),
    "webkb/wisconsin/raw/out1_graph_edges.txt": (
        3606,
        "ebd213511c88fce1eda450c2f920600c4b8cbb38f02384856bcc47c6ec1807ae",
    ),
    "webkb/wisconsin/raw/out1_node_feature_label.txt": (
        856324,
        "a32b0aa38d42f0d36841e8a8cb646d197f0ff33a182ac75a2b4476aeed3c7e4b",
    ),
    "webkb/wisconsin/raw/wisconsin_split_0.6_0.2_0.npz": (
        805,
        "f66f641e191d35d491cd3b63d6c2cd93c4b436da398984b44c19a8d4d7e7b1a5",
    ),
    "webkb/wisconsin/raw/wisconsin_split_0.6_0.2_1.npz": (
        739,
        "534aeb97266bd5a85a8587adf8eebad3f2e001c1240610f24b62c0ad0c2466ee",
    ),
    "webkb/wisconsin/raw/wisconsin_split_0.6_0.2_2.npz": (
        747,
        "047a5b641778ec3a4c76055fd7f18ecb2424c0952f20dfff7e1b17749d8acbdd",
    ),
    "webkb/wisconsin/raw/wisconsin_split_0.6_0.2_3.npz": (
        810,
        "706c27b4c51d046c0316f1e915f093e4a1fff48b3436b3e7c421eab596a99e77",
    ),
    "webkb/wisconsin/raw/wisconsin_split_0.6_0.2_4.npz": (
        812,
        "7ee813605eec086457aaff022cf3837f2f893fcf8bd37e3a8d2ff0c80e4c4f87",
    ),
    "webkb/wisconsin/raw/wisconsin_split_0.6_0.2_5.npz": (
        749,
        "8094ac2bdaf2cbea8f7a48df66a0800c809b2fd5942740e6b0441b660d3a0dd5",
    ),
    "webkb/wisconsin/raw/wisconsin_split_0.6_0.2_6.npz": (
        735,
        "c423a8deea9b18f9ecb6cfd703578e2159df167de01fe7e6195b88995010252d",
    ),
    "webkb/wisconsin/raw/wisconsin_split_0.6_0.2_7.npz": (
        733,
        "57ad808c8d4dd94dc4404124370bbcebb3dcc597c2bea6457bf05f220adf1527",
    ),
    "webkb/wisconsin/raw/wisconsin_split_0.6_0.2_8.npz": (
        741,
        "27d4d62a2a6aea2cdc399302237512ab0d64fb0c84e648112f97c5896274e42f",
    ),
    "webkb/wisconsin/raw/wisconsin_split_0.6_0.2_9.npz": (
        744,
        "3c149cd124a19021031609e0d7743a7be59aae4f88c8d38410138e8f06f5daaf",
    ),
    "yandex_heterophilous/actor/raw/actor.npz": (
        252956,
        "c350eef06b2c2a9bf8218be2b57cac6d4003d0922eb597a039e9123f75817816",
    ),
    "yandex_heterophilous/chameleon/raw/chameleon.npz": (
        177840,
        "4c640bd2877fc4f9f101531e2f977bc16445a54e09a5cb01178df608e552f3fd",
    ),
    "yandex_heterophilous/chameleon_directed/raw/chameleon_directed.npz": (
        191520,
        "34aea6b6888063544232100d53d4aa7e87e37953ec8dd3a7092afb25bb2f0328",
    ),
    "yandex_heterophilous/chameleon_filtered/raw/chameleon_filtered.npz": (
        58924,
        "bf46f07e1fb5249280447e5fe3100f3e82fc4b93ad1e13ffcfdec924b6ac0bb5",
    ),
    "yandex_heterophilous/chameleon_filtered_directed/raw/chameleon_filtered_directed.npz": (
        69275,
        "5a2d40701407188f1661d37a326484b49cc15251e0dedaa7bd380873dac80f21",
    ),
    "yandex_heterophilous/cornell/raw/cornell.npz": (
        30515,
        "684c54ba3daa13b0ba1f04a3d6dd1b1175c1ae9bdeb982851fd4ff96d3aac298",
    ),
    "yandex_heterophilous/minesweeper/raw/minesweeper.npz": (
        135045,
        "e664c8dacf1e8ac466c2c09ed4b237bd2c5541f47a6eae9c6092cb87f16412b3",
    ),
    "yandex_heterophilous/squirrel/raw/squirrel.npz": (
        704277,
        "d436e3b42c0546b105241c0ab0766097074e68e55f67b133eeb9b0162e55cbd9",
    ),
    "yandex_heterophilous/squirrel_directed/raw/squirrel_directed.npz": (
        760119,
        "3f0436486716cf77b651c372e54f6b4c2cc52262e7faeeab584a34b41bae2616",
    ),
    "yandex_heterophilous/squirrel_filtered/raw/squirrel_filtered.npz": (
        208215,
        "f06370ffb3116c5de8b7a600005400b2293c025e0ce2f6916d8201a825505ac7",
    ),
    "yandex_heterophilous/squirrel_filtered_directed/raw/squirrel_filtered_directed.npz": (
        249855,
        "0526e53252f0b052124f7390829c32e923d432acaf64206191a1144a07b39620",
    ),
    "yandex_heterophilous/texas/raw/texas.npz": (
        28586,
        "b164b99e6c3d43e4ab07488ec59bd8c815f90cbc1bd4cf425ce587d2b534d844",
    ),
    "yandex_heterophilous/texas_4_classes/raw/texas_4_classes.npz": (
        28586,
        "2da438ba7f41fd82e0953e2c9f63ef18e5a58da51ae6369cb5f5010bdf0e67bd",
    ),
    "yandex_heterophilous/tolokers/raw/tolokers.npz": (
        1329769,
        "dacf3ac94cec53d03cd2adb5255c08b33dee1656c33ca8164a464bd9450a1667",
    ),
    "yandex_heterophilous/wisconsin/raw/wisconsin.npz": (
        41672,
        "2543c89838cfc75f737f7c4664cc1d097f8268602c20b2d1bd4f21407df9c074",
    ),
}
